// Generated from locales/en_US.json by scripts/locale-types.ts (npm run typecheck). Do not edit.
declare const messages: {
  readonly "language": {
    readonly "name": "English";
    readonly "prompt": "Which language would you like me to use?";
    readonly "changed": "Done! I'll speak English with you from now on.";
  };
  readonly "welcome": {
    readonly "named": "Hi {{name}}! Welcome to {{shop}} 🍵 I can show you our teas, check an order, or get you a person from our team.";
    readonly "anonymous": "Hi there! Welcome to {{shop}} 🍵 I can show you our teas, check an order, or get you a person from our team.";
  };
  readonly "menu": {
    readonly "prompt": "What would you like to do?";
    readonly "browse": "Browse teas";
    readonly "order_status": "Order status";
    readonly "hours": "Opening hours";
    readonly "human": "Talk to a person";
    readonly "language": "Language";
  };
  readonly "fallback": "Sorry, I didn't catch that. Here's what I can help with:";
  readonly "apology": "Sorry, something went wrong on our side. Please try again in a moment.";
  readonly "browse": {
    readonly "intro": "Here are this season's teas. Swipe to see them all:";
    readonly "subtitle": "{{tagline}} · {{price}}";
    readonly "details_button": "Details";
    readonly "buy": "Buy online";
    readonly "back": "All teas";
    readonly "details": "{{title}} · {{price}}\n\n{{details}}";
  };
  readonly "products": {
    readonly "sencha": {
      readonly "title": "Morning Sencha";
      readonly "tagline": "Grassy Japanese green tea";
      readonly "details": "Steamed green tea from Shizuoka, bright and grassy with a sweet finish. Brew 1 minute at 75 °C. 100 g tin.";
    };
    readonly "earl-grey": {
      readonly "title": "Harbour Earl Grey";
      readonly "tagline": "Black tea with bergamot";
      readonly "details": "Assam and Ceylon black teas scented with Calabrian bergamot. Brew 4 minutes at 95 °C. Lovely with milk. 100 g tin.";
    };
    readonly "jasmine-pearls": {
      readonly "title": "Jasmine Pearls";
      readonly "tagline": "Hand-rolled, scented 6 times";
      readonly "details": "Young green tea leaves rolled into pearls and layered with fresh jasmine blossoms six times. Brew 2 minutes at 80 °C. 50 g tin.";
    };
    readonly "oolong": {
      readonly "title": "Mountain Oolong";
      readonly "tagline": "Creamy high-mountain oolong";
      readonly "details": "Lightly oxidised oolong from 1,500 m, creamy and floral. Steep 5 times or more, 1 minute at 90 °C. 75 g tin.";
    };
  };
  readonly "orders": {
    readonly "ask": "Sure! Please type your order number. It looks like TW-10231 and is in your confirmation email.";
    readonly "invalid": "\"{{text}}\" doesn't look like an order number. It should be TW- followed by five digits, like TW-10231. Please try again, or tap Cancel.";
    readonly "not_found": "I couldn't find order {{number}}. Please check the number in your confirmation email and type it again, or tap Cancel.";
    readonly "cancel": "Cancel";
    readonly "cancelled": "No problem. Anything else?";
    readonly "status": {
      readonly "processing": "Order {{number}} (placed {{placed}}) is being packed. We'll message you when it ships.";
      readonly "shipped": "Order {{number}} is on its way with {{carrier}}. Tracking number: {{tracking}}.";
      readonly "delivered": "Order {{number}} was delivered on {{delivered}}. Enjoy your tea! 🍵";
      readonly "cancelled": "Order {{number}} (placed {{placed}}) was cancelled. If that's a surprise, tap Talk to a person.";
    };
  };
  readonly "hours": {
    readonly "title": "Opening hours of {{shop}} ({{time_zone}}):";
    readonly "days": "{{first}}–{{last}}";
    readonly "line": "{{days}}: {{times}}";
    readonly "closed": "closed";
    readonly "open_now": "We're open now, until {{time}}.";
    readonly "closed_now": "We're closed right now. We open again {{when}}.";
    readonly "today": "today at {{time}}";
    readonly "tomorrow": "tomorrow at {{time}}";
    readonly "on_day": "on {{day}} at {{time}}";
    readonly "address": "📍 {{address}}";
    readonly "website": "More about us: {{website}}";
  };
  readonly "human": {
    readonly "handoff": "I'm handing you over to a person from our team. They'll reply right here, usually within a few hours. You can also reach us at {{contact}}.";
    readonly "back": "I'm back! Our team has finished helping you. What would you like to do next?";
  };
  readonly "reaction": {
    readonly "thanks": "Thanks for the reaction! 💛";
  };
  readonly "attachment": {
    readonly "image": "What a lovely picture! 📷 I can't look at images myself, but I can help you with the options below.";
    readonly "sticker": "Love the sticker! 😄";
    readonly "other": "Thanks! I can only read text messages for now.";
  };
  readonly "optin": {
    readonly "thanks": "Thanks for opting in! 🍵";
    readonly "notifications": "You're subscribed! We'll only message you about new teas and offers, and you can stop anytime.";
  };
  readonly "account_linking": {
    readonly "linked": "Your {{shop}} account is now linked. ✅";
    readonly "unlinked": "Your {{shop}} account has been unlinked.";
  };
  readonly "profile": {
    readonly "greeting": "Welcome to {{shop}}! 🍵 Browse our teas, check an order or talk to our team, right here in chat.";
    readonly "shop": "Visit our shop";
    readonly "ice_breakers": {
      readonly "browse": "What teas do you have?";
      readonly "order_status": "Where is my order?";
      readonly "human": "Can I talk to a person?";
      readonly "language": "Can we chat in another language?";
    };
  };
  readonly "comments": {
    readonly "public_reply": "Thanks for asking! We've sent you a private message 💌";
  };
  readonly "stories": {
    readonly "mention_thanks": "Thank you for mentioning {{shop}} in your story! 💛 Here's what I can do for you:";
    readonly "reply_thanks": "Thanks for replying to our story! 💛 Here's what I can do for you:";
  };
};
export = messages;
