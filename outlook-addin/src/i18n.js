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
    // The task pane (src/taskpane/): sign-in, the state of Sealpost in this Outlook, the
    // message's unlock code, and the last send.
    paneLoading: "Starting Sealpost…",
    signInHeading: "Sign in to Sealpost",
    signInIntro: "Sign in once in this Outlook to send messages securely. You stay signed in on this computer until you sign out.",
    emailLabel: "Email address",
    passwordLabel: "Password",
    totpLabel: "Code from your authenticator app",
    signInButton: "Sign in",
    signingIn: "Signing in…",
    signInMissing: "Enter your email address and password.",
    signInTotpNeeded: "Enter the 6-digit code from your authenticator app, then sign in again.",
    signInWrong: "Wrong email address or password.",
    signInWrongCode: "Wrong email address, password or code. Each code works once; wait for the next one.",
    signInLocked: "Too many failed sign-ins: this account is locked. Try again {when}.",
    signInRateLimited: "Too many sign-in attempts from this network. Try again {when}.",
    signInUnreachable: "Sealpost could not reach {origin}. Check your connection, then sign in again.",
    signInRefused: "The platform refused the sign-in: {detail}",
    signedOut: "Signed out. This Outlook's sign-in was ended on the platform.",
    signedOutLocally: "Signed out in this Outlook, but {origin} did not confirm that the sign-in was ended there. If this computer is not yours, ask IT to revoke the device \"{device}\".",
    sessionGone: "Your Sealpost sign-in has ended (it was revoked or has expired). Sign in again.",
    deviceOn: "Outlook on {platform}",
    deviceWeb: "Outlook on the web",
    statusHeading: "Sealpost in this Outlook",
    platformLabel: "Platform",
    userLabel: "Signed in as",
    transportLabel: "How messages go",
    keyLabel: "Platform key",
    keyShowAll: "Show the whole key",
    checking: "checking…",
    platformReachable: "reachable",
    platformNotReady: "reachable, but not ready ({detail})",
    platformUnreachableShort: "not reachable: check your connection",
    userUnchecked: "{email} (could not be checked)",
    keyUnknown: "could not be read",
    transportDirect: "Direct: sealed in Outlook, sent to the platform",
    signOutButton: "Sign out",
    unlockHeading: "This message's unlock code",
    unlockExplain: "Optional. Recipients must also enter this code before they can read the message. Tell it to them yourself, by phone, never in an email.",
    unlockCodeLabel: "Unlock code ({min} to {max} characters)",
    unlockSetButton: "Set the code",
    unlockRemoveButton: "Remove the code",
    unlockBadLength: "The unlock code must have {min} to {max} characters.",
    unlockSet: "Unlock code for this message: {code}. It applies when you send this message.",
    unlockNone: "No unlock code is set for this message.",
    unlockRemoved: "The unlock code was removed from this message.",
    unlockNoMessage: "Open Sealpost from a message you are writing to set its unlock code.",
    unlockUnsupported: "This version of Outlook does not tell Sealpost which message is being written (that needs Mailbox 1.8), so no unlock code can be set here.",
    unlockOutlookError: "Outlook did not let Sealpost save the draft ({detail}), so the code is not set. Try again.",
    sendHeading: "Sending securely",
    sendNone: "No message has been sent securely from this Outlook yet.",
    sendReading: "Reading the message and its attachments…",
    sendUploading: "Uploading the encrypted message…",
    sendSent: "The last message was sent securely ({time}).",
    sendFailed: "The last message was not sent ({time}):",
    sendFailedAdvice: "The message is still open. Do what the message above says, then press Send again.",
    sendStalled: "The last secure send stopped without finishing ({time}). The message was not sent; press Send again.",
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
    paneLoading: "Sealpost wird gestartet …",
    signInHeading: "Bei Sealpost anmelden",
    signInIntro: "Melden Sie sich einmal in diesem Outlook an, um Nachrichten sicher zu senden. Sie bleiben auf diesem Computer angemeldet, bis Sie sich abmelden.",
    emailLabel: "E-Mail-Adresse",
    passwordLabel: "Passwort",
    totpLabel: "Code aus Ihrer Authentifizierungs-App",
    signInButton: "Anmelden",
    signingIn: "Anmeldung läuft …",
    signInMissing: "Geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein.",
    signInTotpNeeded: "Geben Sie den 6-stelligen Code aus Ihrer Authentifizierungs-App ein und melden Sie sich erneut an.",
    signInWrong: "E-Mail-Adresse oder Passwort ist falsch.",
    signInWrongCode: "E-Mail-Adresse, Passwort oder Code ist falsch. Jeder Code gilt nur einmal; warten Sie auf den nächsten.",
    signInLocked: "Zu viele fehlgeschlagene Anmeldungen: Dieses Konto ist gesperrt. Versuchen Sie es {when} erneut.",
    signInRateLimited: "Zu viele Anmeldeversuche aus diesem Netzwerk. Versuchen Sie es {when} erneut.",
    signInUnreachable: "Sealpost hat {origin} nicht erreicht. Prüfen Sie die Verbindung und melden Sie sich erneut an.",
    signInRefused: "Die Plattform hat die Anmeldung abgelehnt: {detail}",
    signedOut: "Abgemeldet. Die Anmeldung dieses Outlook wurde auf der Plattform beendet.",
    signedOutLocally: "In diesem Outlook abgemeldet, aber {origin} hat nicht bestätigt, dass die Anmeldung dort beendet wurde. Wenn dieser Computer nicht Ihnen gehört, bitten Sie die IT, das Gerät „{device}“ zu widerrufen.",
    sessionGone: "Ihre Sealpost-Anmeldung ist beendet (widerrufen oder abgelaufen). Melden Sie sich erneut an.",
    deviceOn: "Outlook für {platform}",
    deviceWeb: "Outlook im Web",
    statusHeading: "Sealpost in diesem Outlook",
    platformLabel: "Plattform",
    userLabel: "Angemeldet als",
    transportLabel: "Versandweg",
    keyLabel: "Plattformschlüssel",
    keyShowAll: "Ganzen Schlüssel zeigen",
    checking: "wird geprüft …",
    platformReachable: "erreichbar",
    platformNotReady: "erreichbar, aber nicht bereit ({detail})",
    platformUnreachableShort: "nicht erreichbar: Prüfen Sie die Verbindung",
    userUnchecked: "{email} (nicht geprüft)",
    keyUnknown: "nicht lesbar",
    transportDirect: "Direkt: in Outlook versiegelt, an die Plattform gesendet",
    signOutButton: "Abmelden",
    unlockHeading: "Freischaltcode dieser Nachricht",
    unlockExplain: "Optional. Empfänger müssen diesen Code zusätzlich eingeben, bevor sie die Nachricht lesen können. Teilen Sie ihn selbst mit, per Telefon, nie per E-Mail.",
    unlockCodeLabel: "Freischaltcode ({min} bis {max} Zeichen)",
    unlockSetButton: "Code festlegen",
    unlockRemoveButton: "Code entfernen",
    unlockBadLength: "Der Freischaltcode muss {min} bis {max} Zeichen haben.",
    unlockSet: "Freischaltcode für diese Nachricht: {code}. Er gilt, wenn Sie diese Nachricht senden.",
    unlockNone: "Für diese Nachricht ist kein Freischaltcode festgelegt.",
    unlockRemoved: "Der Freischaltcode wurde von dieser Nachricht entfernt.",
    unlockNoMessage: "Öffnen Sie Sealpost aus einer Nachricht, die Sie gerade schreiben, um ihren Freischaltcode festzulegen.",
    unlockUnsupported: "Diese Outlook-Version teilt Sealpost nicht mit, welche Nachricht gerade geschrieben wird (dafür ist Mailbox 1.8 nötig); daher kann hier kein Freischaltcode festgelegt werden.",
    unlockOutlookError: "Outlook hat Sealpost den Entwurf nicht speichern lassen ({detail}); der Code ist nicht festgelegt. Versuchen Sie es erneut.",
    sendHeading: "Sicher senden",
    sendNone: "Aus diesem Outlook wurde noch keine Nachricht sicher gesendet.",
    sendReading: "Die Nachricht und ihre Anhänge werden gelesen …",
    sendUploading: "Die verschlüsselte Nachricht wird hochgeladen …",
    sendSent: "Die letzte Nachricht wurde sicher gesendet ({time}).",
    sendFailed: "Die letzte Nachricht wurde nicht gesendet ({time}):",
    sendFailedAdvice: "Die Nachricht ist noch geöffnet. Tun Sie, was die Meldung oben sagt, und klicken Sie dann erneut auf Senden.",
    sendStalled: "Das letzte sichere Senden wurde nicht abgeschlossen ({time}). Die Nachricht wurde nicht gesendet; klicken Sie erneut auf Senden.",
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
