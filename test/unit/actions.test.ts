import { describe, it, expect } from '@jest/globals';
import { ENTRIES, PLACEMENT_LIMITS, entriesIn, placed, tableProblems, withArgument } from '../../services/conversation/actions.ts';

const noop = () => undefined;

describe('the action table', () => {
  it('passes its own checks', () => {
    expect(tableProblems(ENTRIES)).toEqual([]);
  });

  it('orders each place by position, whatever the order of the entries', () => {
    const table = { B: { label: 'menu.browse', quickReply: 2, handler: noop }, A: { label: 'menu.language', quickReply: 1, handler: noop }, C: { handler: noop } } as const;
    expect(placed(table, 'quickReply')).toEqual([
      { name: 'A', label: 'menu.language' },
      { name: 'B', label: 'menu.browse' },
    ]);
    expect(placed(table, 'persistentMenu')).toEqual([]);
  });

  it('keeps argument entries out of every menu', () => {
    const names = [...entriesIn('quickReply'), ...entriesIn('persistentMenu'), ...entriesIn('iceBreaker')].map((e) => e.name);
    expect(names).not.toContain('PRODUCT_DETAILS');
    expect(names).not.toContain('SET_LOCALE');
  });

  it('stays within what Meta accepts', () => {
    expect(entriesIn('quickReply').length).toBeLessThanOrEqual(PLACEMENT_LIMITS.quickReply);
    expect(entriesIn('persistentMenu').length).toBeLessThanOrEqual(PLACEMENT_LIMITS.persistentMenu);
    expect(entriesIn('iceBreaker').length).toBeLessThanOrEqual(PLACEMENT_LIMITS.iceBreaker);
  });
});

describe('tableProblems', () => {
  it('reports a position used twice, a menu entry without a label, a bad name and too many ice breakers', () => {
    const breaker = (position: number) => ({ iceBreaker: { position, question: 'profile.ice_breakers.browse' as const }, handler: noop });
    const table = {
      ONE: { label: 'menu.browse', quickReply: 1, handler: noop },
      TWO: { label: 'menu.language', quickReply: 1, handler: noop },
      NOLABEL: { persistentMenu: 1, handler: noop },
      lower_case: { handler: noop },
      ARG: withArgument({ name: 'x', parse: (s) => s }, noop),
      I1: breaker(1),
      I2: breaker(2),
      I3: breaker(3),
      I4: breaker(4),
      I5: breaker(0),
    } as const;
    expect(tableProblems(table)).toEqual([
      'NOLABEL: quickReply and persistentMenu need a label (a key in locales/en_US.json)',
      'lower_case: a payload name is upper case letters, digits and _ (e.g. OPENING_HOURS)',
      'quickReply position 1 is taken by ONE and TWO',
      'I5: iceBreaker position must be a whole number from 1, got 0',
      'iceBreaker: 5 entries, Meta allows 4',
    ]);
  });
});
