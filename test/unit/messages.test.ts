import { describe, it, expect } from '@jest/globals';
import {
  MessageLimitError,
  buttonTemplate,
  genericTemplate,
  postbackButton,
  quickReply,
  splitText,
  textMessage,
  truncate,
  urlButton,
  wellFormed,
} from '../../services/graph/messages.ts';

const codePoints = (s: string) => [...s].length;
const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const noSpace = (s: string) => s.replace(/\s+/g, '');
const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');

describe('splitText', () => {
  it('keeps text of at most 2000 code points in one chunk', () => {
    expect(splitText('hello')).toEqual(['hello']);
    const exact = 'x'.repeat(2000);
    expect(splitText(exact)).toEqual([exact]);
    const emoji = '😀'.repeat(2000);
    expect(splitText(emoji)).toEqual([emoji]);
  });

  it('turns the empty string into one empty chunk', () => {
    expect(splitText('')).toEqual(['']);
  });

  it('splits long text into chunks of at most 2000 code points without losing content', () => {
    const text = words(700);
    const chunks = splitText(text);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(codePoints(chunk)).toBeLessThanOrEqual(2000);
    expect(noSpace(chunks.join(' '))).toBe(noSpace(text));
    expect(chunks.join(' ')).toBe(text);
  });

  it('cuts at word boundaries, never inside a word', () => {
    const all = new Set(words(700).split(' '));
    for (const chunk of splitText(words(700))) {
      for (const word of chunk.split(' ')) expect(all.has(word)).toBe(true);
    }
  });

  it('prefers a paragraph break over a line break over a space', () => {
    const first = `${'a '.repeat(700)}\n\n${'b '.repeat(200)}\n${'c '.repeat(200)}`;
    const chunks = splitText(`${first}${'d '.repeat(800)}`);
    expect(chunks[0]).toBe('a '.repeat(700).trimEnd());
    const lines = splitText(`${'a '.repeat(700)}\n${'b '.repeat(200)} ${'c '.repeat(800)}`);
    expect(lines[0]).toBe('a '.repeat(700).trimEnd());
  });

  it('never splits an emoji in half', () => {
    const text = `a${'😀'.repeat(2500)}`;
    const chunks = splitText(text);
    expect(chunks.map(codePoints)).toEqual([2000, 501]);
    expect(chunks.join('')).toBe(text);
    for (const chunk of chunks) expect(chunk).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });
});

describe('lone surrogates (JSON can carry them in what a user typed)', () => {
  it('wellFormed replaces each lone surrogate with U+FFFD and leaves pairs alone', () => {
    expect(wellFormed('a\ud83db')).toBe('a\ufffdb');
    expect(wellFormed('\ude00x\ud83d')).toBe('\ufffdx\ufffd');
    expect(wellFormed('ok 😀 \ud83d\ude00')).toBe('ok 😀 😀');
  });

  it('splitText and textMessage never send one', () => {
    const text = `${'a'.repeat(1999)}\ud83d${'b'.repeat(10)}`;
    for (const chunk of splitText(text)) {
      expect(chunk).not.toMatch(LONE);
      expect(codePoints(chunk)).toBeLessThanOrEqual(2000);
    }
    expect(textMessage('order \ud83d?')).toEqual({ text: 'order \ufffd?' });
  });

  it('textMessage refuses text that is only whitespace', () => {
    expect(() => textMessage(' \n ')).toThrow(MessageLimitError);
  });
});

describe('truncate', () => {
  it('keeps text that fits as it is', () => {
    expect(truncate('TW-1', 40)).toBe('TW-1');
    expect(truncate('😀'.repeat(40), 40)).toBe('😀'.repeat(40));
  });

  it('cuts within the limit, with an ellipsis, never inside an emoji', () => {
    const cut = truncate(`${'x'.repeat(38)}😀😀😀`, 40);
    expect(cut).toBe(`${'x'.repeat(38)}😀…`);
    expect(codePoints(cut)).toBeLessThanOrEqual(40);
    expect(cut).not.toMatch(LONE);
  });

  it('keeps graphemes whole: a family emoji or a flag is kept or dropped, not split', () => {
    const family = '👩‍👩‍👧‍👦'; // 7 code points
    expect(truncate(`${'x'.repeat(35)}${family}`, 40)).toBe(`${'x'.repeat(35)}…`);
    expect(truncate(`${'x'.repeat(37)}🇦🇹🇦🇹`, 40)).toBe(`${'x'.repeat(37)}🇦🇹…`);
    expect(truncate('é'.normalize('NFD').repeat(30), 40)).toBe(`${'é'.normalize('NFD').repeat(19)}…`);
  });

  it('repairs lone surrogates while cutting', () => {
    expect(truncate(`${'x'.repeat(45)}\ud83d`, 40)).toBe(`${'x'.repeat(39)}…`);
    expect(truncate('\ud83d', 40)).toBe('\ufffd');
  });

  it('can cut without an ellipsis', () => {
    expect(truncate('abcdef', 3, '')).toBe('abc');
  });
});

describe('builders enforce Send API limits', () => {
  const qr = (i: number) => quickReply(`Option ${i}`, `P${i}`);
  const button = (i: number) => postbackButton(`B${i}`, `P${i}`);
  const element = (title: string) => ({ title });

  it('quick replies: 13 allowed, 14 rejected; titles up to 20 characters', () => {
    expect(textMessage('hi', Array.from({ length: 13 }, (_, i) => qr(i)))).toHaveProperty('quick_replies');
    expect(() => textMessage('hi', Array.from({ length: 14 }, (_, i) => qr(i)))).toThrow(MessageLimitError);
    expect(quickReply('x'.repeat(20), 'P').title).toHaveLength(20);
    expect(() => quickReply('x'.repeat(21), 'P')).toThrow(MessageLimitError);
  });

  it('text messages must be 1 to 2000 characters', () => {
    expect(textMessage('x'.repeat(2000))).toEqual({ text: 'x'.repeat(2000) });
    expect(() => textMessage('x'.repeat(2001))).toThrow(MessageLimitError);
    expect(() => textMessage('')).toThrow(MessageLimitError);
  });

  it('button templates: 3 buttons allowed, 4 rejected', () => {
    expect(() => buttonTemplate('Pick', [0, 1, 2].map(button))).not.toThrow();
    expect(() => buttonTemplate('Pick', [0, 1, 2, 3].map(button))).toThrow(MessageLimitError);
    expect(() => buttonTemplate('Pick', [])).toThrow(MessageLimitError);
  });

  it('button titles: 20 characters allowed, 21 rejected', () => {
    expect(() => postbackButton('x'.repeat(20), 'P')).not.toThrow();
    expect(() => postbackButton('x'.repeat(21), 'P')).toThrow(MessageLimitError);
  });

  it('generic templates: 10 elements allowed, 11 rejected; titles up to 80 characters', () => {
    expect(() => genericTemplate(Array.from({ length: 10 }, () => element('Tea')))).not.toThrow();
    expect(() => genericTemplate(Array.from({ length: 11 }, () => element('Tea')))).toThrow(MessageLimitError);
    expect(() => genericTemplate([element('x'.repeat(80))])).not.toThrow();
    expect(() => genericTemplate([element('x'.repeat(81))])).toThrow(MessageLimitError);
    expect(() => genericTemplate([{ title: 'Tea', buttons: [0, 1, 2, 3].map(button) }])).toThrow(MessageLimitError);
  });

  it('URL buttons need an http(s) URL', () => {
    expect(urlButton('Shop', 'https://shop.example')).toEqual({ type: 'web_url', title: 'Shop', url: 'https://shop.example' });
    expect(() => urlButton('Shop', 'javascript:alert(1)')).toThrow(MessageLimitError);
    expect(() => urlButton('Shop', 'ftp://shop.example')).toThrow(MessageLimitError);
  });
});
