// Text intents: a message that is, as a whole, one of an entry's words ("hola", "¿ayuda?",
// "營業時間？") runs that entry. Never a substring match: "do you sell coffee" is not "coffee".
// Both sides go through normalizeText, the same way in every language.
import type { Locale } from '../i18n.ts';

// Opening, closing and full-width punctuation (¡ ¿ ？ ！ 。 ，), symbols and emoji, and the invisible
// characters emoji carry (joiners, variation selectors).
const NOT_WORDS = /[\p{P}\p{S}\p{Cf}\u{FE00}-\u{FE0F}]+/gu;
// Accents on Latin letters only: other scripts' combining marks are part of their letters.
const LATIN_ACCENTS = /(\p{Script=Latin})\p{Mn}+/gu;

/**
 * The form a message is compared in: full-width forms folded (NFKC), lower case, no accents on
 * Latin letters, punctuation and symbols as spaces, single spaces, trimmed.
 * `"  ¡Buenos   DÍAS! "` → `"buenos dias"`, `"營業時間？"` → `"營業時間"`.
 */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .normalize('NFD')
    .replace(LATIN_ACCENTS, '$1')
    .normalize('NFC')
    .replace(NOT_WORDS, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
}

export interface IntentMatch<N extends string> {
  name: N;
  /** The languages in which the message is one of the entry's words. */
  locales: readonly Locale[];
}

export interface IntentMatcher<N extends string> {
  match(text: string): IntentMatch<N> | undefined;
}

/**
 * Indexes every entry's words by their normalised form. Two entries claiming the same words (after
 * normalising) or a word that normalises to nothing is a mistake in the table: it throws.
 */
export function createIntentMatcher<N extends string>(entries: readonly { name: N; intents: Readonly<Record<Locale, readonly string[]>> }[]): IntentMatcher<N> {
  const index = new Map<string, { name: N; locales: Locale[] }>();
  const problems: string[] = [];
  for (const { name, intents } of entries) {
    for (const [locale, words] of Object.entries(intents) as [Locale, readonly string[]][]) {
      for (const word of words) {
        const key = normalizeText(word);
        const known = index.get(key);
        if (key === '') problems.push(`${name}.intents.${locale}: ${JSON.stringify(word)} has no letters or digits left to match`);
        else if (!known) index.set(key, { name, locales: [locale] });
        else if (known.name !== name) problems.push(`${name}.intents.${locale}: ${JSON.stringify(word)} already triggers ${known.name} (${known.locales.join(', ')})`);
        else if (!known.locales.includes(locale)) known.locales.push(locale);
      }
    }
  }
  if (problems.length > 0) throw new Error(`services/conversation/actions.ts, text intents:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return {
    match(text) {
      const found = index.get(normalizeText(text));
      return found ? { name: found.name, locales: [...found.locales] } : undefined;
    },
  };
}
