# Die Texte des Sicheren Postfachs (Secure Message Center) auf Deutsch, in der Sie-Form.
# Dieselben IDs wie in locales/en/center.ftl (ein Test prüft das); was hier fehlt, zeigt die
# Seite auf Englisch. Platzhalter wie { $email } oder { $minutes } füllt der Code aus.

## Die Sprache selbst, wie der Umschalter sie nennt (in ihr selbst).
language-name = Deutsch
language-switch = Sprache

## Jede Seite
product = Sicheres Postfach
product-title = Sealpost Sicheres Postfach
skip-to-content = Zum Inhalt springen
nav-folders = Ordner
folder-inbox = Posteingang
folder-sent = Gesendet
folder-drafts = Entwürfe
folder-archive = Archiv
nav-preferences = Einstellungen
nav-sign-out = Abmelden
signed-in-as = Angemeldet als { $email }
your-address = Ihre E-Mail-Adresse
send-me-a-code = Code zusenden
new-password = Neues Passwort
password-again = Neues Passwort wiederholen
current-password = Aktuelles Passwort
totp-code = Code aus Ihrer Authentifizierungs-App
totp-code-hint = (nur falls Sie sie eingerichtet haben)

## Hinweisseiten
not-found = Nachricht nicht gefunden
not-found-text = Dieser Link führt zu keiner Nachricht. Prüfen Sie, ob Sie den vollständigen Link aus der E-Mail geöffnet haben.
recalled = Diese Nachricht wurde zurückgerufen
recalled-text = Der Absender hat diese Nachricht zurückgezogen. Sie kann nicht mehr gelesen werden.
expired = Diese Nachricht ist abgelaufen
expired-text = Diese Nachricht war nur für begrenzte Zeit abrufbar. Bitten Sie den Absender, sie erneut zu senden.
damaged = Diese Nachricht ist beschädigt
damaged-text = Diese Nachricht wurde beim Speichern beschädigt und kann nicht angezeigt werden. Bitten Sie den Absender, sie erneut zu senden; die Betreiber dieses Dienstes wurden benachrichtigt.
form-expired = Bitte beginnen Sie erneut
form-expired-text = Dieses Formular ist abgelaufen. Öffnen Sie den Link aus Ihrer E-Mail noch einmal.
too-many = Zu viele Versuche
too-many-text = Warten Sie einige Minuten und öffnen Sie dann den Link aus Ihrer E-Mail erneut.
not-an-address = Bitte prüfen Sie die Adresse
not-an-address-text = Das ist keine E-Mail-Adresse. Gehen Sie zurück und versuchen Sie es noch einmal.
code-first = Fordern Sie zuerst einen neuen Code an
code-first-text = Ein Passwort legen Sie direkt nach der Anmeldung mit einem Code aus Ihrer E-Mail fest. Öffnen Sie den Link aus Ihrer E-Mail erneut und fordern Sie einen Code an.
not-here = Die Sprache wurde nicht geändert
not-here-text = Dieser Link zum Ändern der Sprache stammt nicht von dieser Website. Wählen Sie die Sprache auf der Seite, auf der Sie waren, noch einmal aus.
went-wrong = Etwas ist schiefgelaufen
went-wrong-text = Bitte versuchen Sie es gleich noch einmal.
signed-out = Sie sind abgemeldet
signed-out-text = Schließen Sie dieses Fenster oder melden Sie sich erneut an.

## Eine Nachricht öffnen: Link, Adresse, Code, erstes Passwort
bounce-title = Ihre sichere Nachricht wird geöffnet
bounce-heading = Ihre sichere Nachricht wird geöffnet …
bounce-continue = Weiter
identify-title = Adresse bestätigen
identify-heading = Sie haben eine sichere Nachricht erhalten
identify-text = Um sie zu lesen, bestätigen Sie die E-Mail-Adresse, an die sie gesendet wurde. Wir senden Ihnen einen Einmalcode an diese Adresse.
identify-returning = Sie waren schon einmal hier?
code-title = Code eingeben
code-sent = Wenn die Nachricht an { $email } gesendet wurde, ist ein Einmalcode an diese Adresse unterwegs. Er ist 10 Minuten lang gültig.
one-time-code = Einmalcode
code-open = Nachricht öffnen
code-send-new = Neuen Code senden
wrong-code = Dieser Code ist falsch, schon verwendet oder abgelaufen – oder, falls Sie die Zwei-Faktor-Anmeldung eingeschaltet haben, der Code aus Ihrer Authentifizierungs-App stimmt nicht. Prüfen Sie beide oder fordern Sie einen neuen Code an.
password-title = Passwort festlegen
password-text = Damit melden Sie sich beim nächsten Mal an, ohne auf einen Code zu warten. Mindestens 12 Zeichen; einige Wörter, die nichts miteinander zu tun haben, sind leicht zu merken und schwer zu erraten.
password-save-and-read = Passwort speichern und Nachricht lesen
password-not-now = Jetzt nicht: Nachricht lesen
passwords-differ = Die beiden Passwörter stimmen nicht überein.
password-too-short = Das Passwort muss mindestens 12 Zeichen lang sein.
password-too-long = Dieses Passwort ist zu lang.

## Anmelden, abmelden, Passwort zurücksetzen
signin-title = Anmelden
signin-heading = Anmeldung im Sicheren Postfach
signin-password = Ihr Sealpost-Passwort
signin-button = Anmelden
signin-forgot = Passwort vergessen?
signin-first-time = Zum ersten Mal hier? Öffnen Sie den Link in der E-Mail, die Sie erhalten haben.
wrong-sign-in = Adresse, Passwort oder Code aus Ihrer Authentifizierungs-App (falls Sie die Zwei-Faktor-Anmeldung eingeschaltet haben) ist falsch.
sign-in-locked = Zu viele Fehlversuche: Die Anmeldung mit Passwort ist eine Zeit lang gesperrt (nach jeder Sperre länger). Sie können stattdessen einen Code per E-Mail anfordern.
session-ended = Ihre Sitzung ist abgelaufen (nach 30 Minuten ohne Aktivität oder nach 8 Stunden). Bitte melden Sie sich erneut an.
reset-title = Passwort zurücksetzen
reset-text = Wir senden einen Code an Ihre Adresse; damit legen Sie ein neues Passwort fest.
reset-code-sent = Wenn es für { $email } ein Passwort für das Sichere Postfach gibt, ist ein Code an diese Adresse unterwegs. Geben Sie ihn zusammen mit Ihrem neuen Passwort ein.
reset-code = Code aus der E-Mail
reset-save = Neues Passwort speichern
not-an-address-problem = Das ist keine E-Mail-Adresse.

## Freischaltcode
unlock-title = Freischaltcode
unlock-heading = Diese Nachricht braucht einen Freischaltcode
unlock-text = Der Absender hat diese Nachricht mit einem zusätzlichen Code geschützt, den er Ihnen auf anderem Weg mitteilt – telefonisch, per SMS oder persönlich. Geben Sie ihn ein, um die Nachricht zu lesen.
unlock-button = Freischalten
unlock-wrong = Dieser Freischaltcode ist falsch. Fragen Sie den Absender danach.
unlock-locked = Zu viele falsche Freischaltcodes. Versuchen Sie es später noch einmal (jede weitere Sperre dauert länger).

## Ordner
mailbox-from = Von
mailbox-to = An
mailbox-subject = Betreff
mailbox-date = Datum
mailbox-new = Neu
mailbox-empty = Hier sind keine Nachrichten.
mailbox-older = Ältere Nachrichten
no-subject = (kein Betreff)
status-recalled = Zurückgerufen
status-expired = Abgelaufen

## Eine Nachricht lesen
meta-from = Von
meta-to = An
meta-cc = Cc
meta-date = Datum
read-reply = Antworten
read-reply-all = Allen antworten
read-write-to-sender = An den Absender schreiben
read-to-inbox = In den Posteingang
read-archive = Archivieren
read-delete = Löschen
read-attachments = Anhänge
body-too-large = Die Formatierung dieser Nachricht ist zu umfangreich für die Anzeige; hier ist ihr Text.
body-too-deep = Die Formatierung dieser Nachricht ist zu tief verschachtelt für die Anzeige; hier ist ihr Text.
body-cannot-show = Die Formatierung dieser Nachricht kann nicht angezeigt werden.
slip-heading = Zustellung
slip-recalled = Sie haben diese Nachricht zurückgerufen: Niemand kann sie mehr öffnen.
slip-recipient = Empfänger
slip-what-happened = Verlauf
slip-bcc = (Bcc)
slip-not-opened = Noch nicht geöffnet
slip-recall = Nachricht zurückrufen
event-sent = gesendet { $when }
event-notified = benachrichtigt { $when }
event-opened = geöffnet { $when }
event-downloaded = heruntergeladen { $when }
event-replied = beantwortet { $when }
event-recalled = zurückgerufen { $when }
event-expired = abgelaufen { $when }

## Dateiarten
kind-pdf = PDF-Dokument
kind-image = Bild
kind-video = Video
kind-audio = Audio
kind-word = Word-Dokument
kind-spreadsheet = Tabelle
kind-csv = Tabelle (CSV)
kind-presentation = Präsentation
kind-archive = Archiv
kind-text = Text
kind-email = E-Mail
kind-program = Programm
kind-file = Datei

## Größen
decimal-separator = ,
size-bytes = { $bytes } Bytes

## Datum und Uhrzeit (24 Stunden: 17:40)
date-just-now = gerade eben
date-minutes-ago = { $minutes ->
    [one] vor 1 Minute
   *[other] vor { $minutes } Minuten
}
date-today = heute, { $time }
date-yesterday = gestern, { $time }
date-this-year = { $day }. { $month }, { $time }
date-other-year = { $day }. { $month } { $year }, { $time }
month-jan = Jan.
month-feb = Feb.
month-mar = März
month-apr = Apr.
month-may = Mai
month-jun = Juni
month-jul = Juli
month-aug = Aug.
month-sep = Sept.
month-oct = Okt.
month-nov = Nov.
month-dec = Dez.

## Einstellungen
preferences-title = Einstellungen
preferences-change-password = Passwort ändern
preferences-save-password = Passwort speichern
preferences-zone = Zeitzone
preferences-zone-label = Zeitzone für Datum und Uhrzeit
preferences-zone-save = Zeitzone speichern
password-saved = Ihr neues Passwort ist gespeichert.
wrong-current-password = Das aktuelle Passwort ist falsch (oder nach mehreren Fehlversuchen vorübergehend gesperrt).
needs-fresh-code = Um ein Passwort festzulegen, melden Sie sich zuerst mit einem neuen Code aus Ihrer E-Mail an (öffnen Sie den Link aus Ihrer E-Mail und fordern Sie einen Code an).
password-first = Legen Sie zuerst ein Passwort fest.
zone-from-list = Wählen Sie eine Zeitzone aus der Liste.
zone-saved = Datum und Uhrzeit werden ab jetzt in Ihrer Zeitzone angezeigt.
totp-heading = Zwei-Faktor-Anmeldung
totp-on-text = Eingeschaltet: Bei der Anmeldung wird zusätzlich der Code aus Ihrer Authentifizierungs-App abgefragt.
totp-current-code = Aktueller Code aus Ihrer Authentifizierungs-App
totp-turn-off = Zwei-Faktor-Anmeldung ausschalten
totp-enrol-text = Fügen Sie diesen Schlüssel Ihrer Authentifizierungs-App hinzu (oder öffnen Sie den Link auf dem Smartphone, auf dem die App ist) und geben Sie dann den angezeigten Code ein.
totp-key = Schlüssel:
totp-add-here = Zu einer Authentifizierungs-App auf diesem Gerät hinzufügen
totp-turn-on = Zwei-Faktor-Anmeldung einschalten
totp-off-text = Ausgeschaltet. Ist sie eingeschaltet, fragt die Anmeldung zusätzlich nach einem Code aus einer Authentifizierungs-App auf Ihrem Smartphone.
totp-set-up = Zwei-Faktor-Anmeldung einrichten
totp-wrong-first-code = Dieser Code stimmt nicht. Prüfen Sie den Schlüssel in Ihrer App und die Uhrzeit Ihres Smartphones und richten Sie die Anmeldung dann erneut ein.
totp-wrong-code-stays-on = Dieser Code stimmt nicht. Die Zwei-Faktor-Anmeldung bleibt eingeschaltet.
totp-now-on = Die Zwei-Faktor-Anmeldung ist eingeschaltet.
totp-now-off = Die Zwei-Faktor-Anmeldung ist ausgeschaltet.

## Antworten
reply-title-new = Neue sichere Nachricht
reply-title = Sichere Antwort
reply-heading-new = Neue sichere Nachricht an den Absender
reply-text = Ihre Nachricht wird verschlüsselt im Sicheren Postfach gespeichert; die Empfänger erhalten eine E-Mail mit dem Hinweis, sie hier zu öffnen.
reply-subject = Betreff
reply-message = Nachricht
reply-attachments = Anhänge (insgesamt bis zu { $limit })
reply-send = Sicher senden
reply-save-draft = Entwurf speichern
reply-discard-draft = Entwurf verwerfen
reply-draft-hint = Ein Entwurf speichert Betreff und Text; Anhänge wählen Sie beim Senden aus.
reply-unreadable = Das Formular konnte nicht gelesen werden: Sind die Anhänge zusammen größer als 25 MB? Versuchen Sie es noch einmal.
reply-too-large-together = Die Anhänge sind zusammen zu groß.
reply-too-many-attachments = Das sind zu viele Anhänge für eine Antwort.
reply-too-long = Die Nachricht ist zu lang.
reply-too-large = Diese Nachricht ist größer, als diese Organisation annimmt. Sie wurde nicht gesendet: Sie bleibt unten erhalten, damit Sie weniger oder kleinere Anhänge auswählen können.
reply-over-limit = Diese Organisation nimmt aus dem Sicheren Postfach nur eine begrenzte Zahl von Nachrichten pro Stunde und pro Tag an, und diese Grenze haben Sie vorerst erreicht. Ihre Nachricht wurde nicht gesendet: Sie bleibt unten erhalten, damit Sie sie später senden oder als Entwurf speichern können.

## Das Hochladen großer Anhänge im Antwortformular (static/reply.js setzt { $size } … ein)
upload-resume = Hochladen fortsetzen
upload-retrying = Die Verbindung wurde unterbrochen. Neuer Versuch … { $stored }
upload-paused = Das Hochladen ist angehalten: Die Verbindung wurde unterbrochen. Es geht dort weiter, wo es aufgehört hat. { $stored }
upload-preparing = { $size } werden vorbereitet …
upload-progress = Hochladen: { $stored }
upload-stored = { $done } von { $total } sind gespeichert ({ $percent } %).
upload-sealing = Ihre Antwort wird verschlüsselt und gesendet …
upload-failed = Ihre Antwort wurde nicht gesendet: { $reason } Nichts von dem, was Sie geschrieben haben, geht verloren; versuchen Sie es noch einmal.
upload-error-signed-out = Ihre Sitzung im Sicheren Postfach ist abgelaufen: Melden Sie sich erneut an und senden Sie dann.
upload-error-gone = Die Nachricht, auf die Sie antworten, ist nicht mehr verfügbar.
upload-error-forbidden = Diese Seite ist abgelaufen, oder die Nachricht braucht zuerst ihren Freischaltcode: Öffnen Sie das Antwortformular erneut.
upload-error-not-found = Auf diese Nachricht kann hier nicht geantwortet werden: Öffnen Sie das Antwortformular erneut.
upload-error-too-large = Diese Nachricht ist größer, als diese Organisation annimmt: Wählen Sie weniger oder kleinere Anhänge.
upload-error-over-limit = Diese Organisation nimmt aus dem Sicheren Postfach nur eine begrenzte Zahl von Nachrichten pro Stunde und pro Tag an, und diese Grenze haben Sie vorerst erreicht: Senden Sie später oder speichern Sie einen Entwurf.
