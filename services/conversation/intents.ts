// Words that start a conversation or open the menu, in every language the bot speaks. Matched
// on the whole (trimmed, lower-cased) message, never as a substring.
const GREETINGS = new Set([
  'hi', 'hello', 'hey', 'hiya', 'good morning', 'good afternoon', 'good evening', 'get started', 'start',
  'halo', 'hai', 'selamat pagi', 'selamat siang', 'selamat sore', 'selamat malam', 'mulai',
  '你好', '您好', '哈囉', '哈啰', '嗨', '早安', '開始',
  'hola', 'buenas', 'buenos días', 'buenos dias', 'buenas tardes', 'buenas noches', 'empezar',
]);
const MENU = new Set(['menu', 'help', 'menú', 'ayuda', 'bantuan', '選單', '菜單', '幫助']);

export type TextIntent = 'greeting' | 'menu' | 'other';

export function textIntent(text: string): TextIntent {
  const normalized = text.trim().toLowerCase().replace(/[!.?！。？~\s]+$/u, '');
  if (GREETINGS.has(normalized)) return 'greeting';
  if (MENU.has(normalized)) return 'menu';
  return 'other';
}
