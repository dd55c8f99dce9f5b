/**
 * Every string a person reads, in English and German. The language is Outlook's display
 * language (`Office.context.displayLanguage`, e.g. "de-DE"), else the browser's; anything but
 * German reads English.
 */

const STRINGS = {
  en: {
    // The send handler's answers: Outlook shows them in its "can't send" alert, with a button
    // that opens the task pane. Each says what happened and what to do.
    notSignedIn: "Sealpost: sign in before sending. Open Sealpost, sign in, then press Send again. The message was not sent.",
    platformUnreachable: "Sealpost could not reach {origin}. The message was not sent; check your connection and press Send again.",
    platformError: "Sealpost could not send this message securely: {detail} The message was not sent.",
    sessionEnded: "Your Sealpost sign-in has ended. Open Sealpost, sign in again, then press Send again. The message was not sent.",
    timedOut: "Sending securely took too long and was stopped. The message was not sent; press Send again, or open Sealpost to see why.",
    cloudAttachment: "\"{name}\" is a shared link to a cloud file, which Sealpost cannot encrypt. Attach a copy of the file instead, then press Send again.",
    attachmentUnreadable: "Sealpost could not read the attachment \"{name}\". The message was not sent; remove and attach it again, then press Send again.",
    tooLarge: "This message is too large to send securely from Outlook ({size}; the limit here is {limit}). The message was not sent.",
    helperError: "The Sealpost helper on this computer reported a problem: {detail} The message was not sent.",
    outlookError: "Outlook did not let Sealpost {what}. The message was not sent; press Send again.",
    unexpected: "Sealpost stopped this send because something unexpected happened ({detail}). The message was not sent.",
    deliveredByPlatform: "Sent securely: Sealpost mailed each recipient a personal link, so Outlook sends nothing. You can discard this draft; it holds only the link.",
    // The ribbon toggle's notification on the message.
    secureOn: "Send secure is on: this message will be encrypted, and recipients get a link.",
    secureOff: "Send secure is off: policy may still secure this message when you send it.",
  },
  de: {
    notSignedIn: "Sealpost: Bitte vor dem Senden anmelden. Öffnen Sie Sealpost, melden Sie sich an und klicken Sie erneut auf Senden. Die Nachricht wurde nicht gesendet.",
    platformUnreachable: "Sealpost hat {origin} nicht erreicht. Die Nachricht wurde nicht gesendet; prüfen Sie die Verbindung und klicken Sie erneut auf Senden.",
    platformError: "Sealpost konnte diese Nachricht nicht sicher senden: {detail} Die Nachricht wurde nicht gesendet.",
    sessionEnded: "Ihre Sealpost-Anmeldung ist abgelaufen. Öffnen Sie Sealpost, melden Sie sich erneut an und klicken Sie dann auf Senden. Die Nachricht wurde nicht gesendet.",
    timedOut: "Das sichere Senden hat zu lange gedauert und wurde abgebrochen. Die Nachricht wurde nicht gesendet; klicken Sie erneut auf Senden oder öffnen Sie Sealpost, um den Grund zu sehen.",
    cloudAttachment: "„{name}“ ist ein Link auf eine Cloud-Datei, die Sealpost nicht verschlüsseln kann. Hängen Sie stattdessen eine Kopie der Datei an und klicken Sie erneut auf Senden.",
    attachmentUnreadable: "Sealpost konnte den Anhang „{name}“ nicht lesen. Die Nachricht wurde nicht gesendet; entfernen Sie den Anhang, hängen Sie ihn erneut an und klicken Sie auf Senden.",
    tooLarge: "Diese Nachricht ist zu groß, um sie aus Outlook sicher zu senden ({size}; die Grenze ist hier {limit}). Die Nachricht wurde nicht gesendet.",
    helperError: "Der Sealpost-Helfer auf diesem Computer meldet ein Problem: {detail} Die Nachricht wurde nicht gesendet.",
    outlookError: "Outlook hat Sealpost nicht erlaubt, {what}. Die Nachricht wurde nicht gesendet; klicken Sie erneut auf Senden.",
    unexpected: "Sealpost hat das Senden angehalten, weil etwas Unerwartetes passiert ist ({detail}). Die Nachricht wurde nicht gesendet.",
    deliveredByPlatform: "Sicher gesendet: Sealpost hat jedem Empfänger einen persönlichen Link geschickt, daher sendet Outlook nichts. Sie können diesen Entwurf verwerfen; er enthält nur den Link.",
    secureOn: "Sicher senden ist eingeschaltet: Diese Nachricht wird verschlüsselt, Empfänger erhalten einen Link.",
    secureOff: "Sicher senden ist ausgeschaltet: Richtlinien können diese Nachricht beim Senden trotzdem schützen.",
  },
};

/** "de" or "en", from a language tag such as "de-DE". */
export function languageOf(tag) {
  return String(tag || "").toLowerCase().startsWith("de") ? "de" : "en";
}

/** The language the add-in speaks in this Outlook. */
export function currentLanguage() {
  const office = globalThis.Office;
  const tag = (office && office.context && office.context.displayLanguage)
    || (globalThis.navigator && globalThis.navigator.language);
  return languageOf(tag);
}

/** The string `key` in `lang` with `{name}` placeholders filled from `params`. */
export function t(key, params = {}, lang = currentLanguage()) {
  const template = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key];
  if (!template) throw new Error(`no string ${key}`);
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** Keys of every string, for the test that both languages are complete. */
export const STRING_KEYS = { en: Object.keys(STRINGS.en), de: Object.keys(STRINGS.de) };
