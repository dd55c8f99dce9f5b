# The Secure Message Center's words, in English (the default language, and what a message
# missing from another language falls back to). Every language's file has the same ids; the
# code and the templates name them (platform/src/center/language/mod.rs says how to add a
# language). Placeables: { $email }, { $minutes } … are filled in by the code.

## The language itself, as the switch names it (in the language itself).
language-name = English
language-switch = Language

## Every page
product = Secure Message Center
product-title = Sealpost Secure Message Center
skip-to-content = Skip to content
nav-folders = Folders
folder-inbox = Inbox
folder-sent = Sent
folder-drafts = Drafts
folder-archive = Archive
nav-preferences = Preferences
nav-sign-out = Sign out
signed-in-as = Signed in as { $email }
your-address = Your email address
send-me-a-code = Send me a code
new-password = New password
password-again = The same password again
current-password = Current password
totp-code = Code from your authenticator app
totp-code-hint = (only if you turned it on)

## Notices
not-found = No such message
not-found-text = This link does not lead to a message. Check that you opened the whole link from the email.
recalled = This message was recalled
recalled-text = The sender has withdrawn this message. It can no longer be read.
expired = This message has expired
expired-text = This message was available for a limited time only. Ask the sender to send it again.
damaged = This message is damaged
damaged-text = This message was damaged in storage and cannot be shown. Ask the sender to send it again; the operators of this service have been alerted.
form-expired = Please start again
form-expired-text = This form has expired. Open the link from your email again.
too-many = Too many attempts
too-many-text = Wait a few minutes, then open the link from your email again.
not-an-address = Check the address
not-an-address-text = That is not an email address. Go back and try again.
code-first = Ask for a new code first
code-first-text = A password is chosen right after a code from your email. Open the link from your email again and ask for a code.
not-here = The language was not changed
not-here-text = This link to change the language is not one of this site's own. Choose the language again on the page you were on.
went-wrong = Something went wrong
went-wrong-text = Please try again in a moment.
signed-out = You are signed out
signed-out-text = Close this window, or sign in again.

## Opening a message: the link, the address, the code, the first password
bounce-title = Opening your secure message
bounce-heading = Opening your secure message…
bounce-continue = Continue
identify-title = Confirm your address
identify-heading = You have received a secure message
identify-text = To read it, confirm the email address it was sent to. We will send a one-time code to that address.
identify-returning = Been here before?
code-title = Enter your code
code-sent = If the message was sent to { $email }, a one-time code is on its way there. It is valid for 10 minutes.
one-time-code = One-time code
code-open = Open the message
code-send-new = Send a new code
wrong-code = That code is wrong, used up or expired — or, if you turned on two-step sign-in, the code from your authenticator app is. Check them, or ask for a new code.
password-title = Choose a password
password-text = Next time you can sign in with it, without waiting for a code. At least 12 characters; a few unrelated words are easy to remember and hard to guess.
password-save-and-read = Save the password and read the message
password-not-now = Not now: read the message
passwords-differ = The two passwords differ.
password-too-short = The password needs at least 12 characters.
password-too-long = That password is too long.

## Signing in, out, resetting the password
signin-title = Sign in
signin-heading = Sign in to the Secure Message Center
signin-password = Your Sealpost password
signin-button = Sign in
signin-forgot = Forgot your password?
signin-first-time = First time here? Open the link in the email you received.
wrong-sign-in = Wrong address, password or code from your authenticator app (if you turned two-step sign-in on).
sign-in-locked = Too many wrong attempts: signing in with a password is locked for a while (longer after each lockout). You can ask for a code by mail instead.
session-ended = Your session has ended (after 30 minutes without activity, or 8 hours). Sign in again.
reset-title = Reset your password
reset-text = We will send a code to your address; with it you choose a new password.
reset-code-sent = If { $email } has a Secure Message Center password, a code is on its way there. Enter it with your new password.
reset-code = Code from the email
reset-save = Save the new password
not-an-address-problem = That is not an email address.

## Unlock code
unlock-title = Unlock code
unlock-heading = This message needs an unlock code
unlock-text = The sender protected this message with an extra code they pass on separately — by phone, text message or in person. Enter it to read the message.
unlock-button = Unlock
unlock-wrong = That unlock code is wrong. Ask the sender for it.
unlock-locked = Too many wrong unlock codes. Try again later (each lockout in a row lasts longer).

## Folders
mailbox-from = From
mailbox-to = To
mailbox-subject = Subject
mailbox-date = Date
mailbox-new = New
mailbox-empty = No messages here.
mailbox-older = Older messages
no-subject = (no subject)
status-recalled = Recalled
status-expired = Expired

## Reading a message
meta-from = From
meta-to = To
meta-cc = Cc
meta-date = Date
read-reply = Reply
read-reply-all = Reply all
read-write-to-sender = Write to the sender
read-to-inbox = Move to inbox
read-archive = Archive
read-delete = Delete
read-attachments = Attachments
body-too-large = This message's formatting is too large to show; here is its text.
body-too-deep = This message's formatting is nested too deeply to show; here is its text.
body-cannot-show = This message's formatting cannot be shown.
slip-heading = Delivery
slip-recalled = You recalled this message: nobody can open it any more.
slip-recipient = Recipient
slip-what-happened = What happened
slip-bcc = (Bcc)
slip-not-opened = Not opened yet
slip-recall = Recall this message
event-sent = sent { $when }
event-notified = notified { $when }
event-opened = opened { $when }
event-downloaded = downloaded { $when }
event-replied = replied { $when }
event-recalled = recalled { $when }
event-expired = expired { $when }

## Kinds of file
kind-pdf = PDF document
kind-image = Image
kind-video = Video
kind-audio = Audio
kind-word = Word document
kind-spreadsheet = Spreadsheet
kind-csv = Spreadsheet (CSV)
kind-presentation = Presentation
kind-archive = Archive
kind-text = Text
kind-email = Email message
kind-program = Program
kind-file = File

## Sizes
decimal-separator = .
size-bytes = { $bytes } bytes

## Dates: the time is 24-hour (17:40)
date-just-now = just now
date-minutes-ago = { $minutes ->
    [one] 1 minute ago
   *[other] { $minutes } minutes ago
}
date-today = today, { $time }
date-yesterday = yesterday, { $time }
date-this-year = { $day } { $month }, { $time }
date-other-year = { $day } { $month } { $year }, { $time }
month-jan = Jan
month-feb = Feb
month-mar = Mar
month-apr = Apr
month-may = May
month-jun = Jun
month-jul = Jul
month-aug = Aug
month-sep = Sep
month-oct = Oct
month-nov = Nov
month-dec = Dec

## Preferences
preferences-title = Preferences
preferences-change-password = Change your password
preferences-save-password = Save the password
preferences-zone = Time zone
preferences-zone-label = Dates are shown in
preferences-zone-save = Save the time zone
password-saved = Your new password is saved.
wrong-current-password = The current password is wrong (or, after several wrong ones, locked for a while).
needs-fresh-code = To choose a password, sign in with a new code from your email first (open the link from your email and ask for a code).
password-first = Choose a password first.
zone-from-list = Choose a time zone from the list.
zone-saved = Dates are shown in your time zone from now on.
totp-heading = Two-step sign-in
totp-on-text = On: signing in also asks for the code from your authenticator app.
totp-current-code = Current code from your authenticator app
totp-turn-off = Turn two-step sign-in off
totp-enrol-text = Add this key to your authenticator app (or open the link on the phone that has it), then enter the code it shows.
totp-key = Key:
totp-add-here = Add to an authenticator app on this device
totp-turn-on = Turn two-step sign-in on
totp-off-text = Off. With it on, signing in also asks for a code from an authenticator app on your phone.
totp-set-up = Set up two-step sign-in
totp-wrong-first-code = That code is not right. Check the key in your app and the phone's clock, then set it up again.
totp-wrong-code-stays-on = That code is not right. Two-step sign-in stays on.
totp-now-on = Two-step sign-in is on.
totp-now-off = Two-step sign-in is off.

## Replying
reply-title-new = New secure message
reply-title = Secure reply
reply-heading-new = New secure message to the sender
reply-text = Your message is encrypted and kept in the Secure Message Center; the recipients get an email telling them to open it here.
reply-subject = Subject
reply-message = Message
reply-attachments = Attachments (up to { $limit } in all)
reply-send = Send securely
reply-save-draft = Save draft
reply-discard-draft = Discard draft
reply-draft-hint = A draft keeps the subject and the text; attachments are chosen when you send.
reply-unreadable = The form could not be read: are the attachments larger than 25 MB together? Try again.
reply-too-large-together = The attachments are too large together.
reply-too-many-attachments = That is too many attachments for one reply.
reply-too-long = The message is too long.
reply-too-large = This message is larger than this organisation accepts. It was not sent: it is kept below, with fewer or smaller attachments to choose.
reply-over-limit = This organisation accepts only so many messages from the Message Center per hour and per day, and you have reached that for now. Your message was not sent: it is kept below, to send later or save as a draft.

## The reply form's upload of large attachments (static/reply.js fills in { $size } …)
upload-resume = Resume the upload
upload-retrying = The connection was lost. Trying again… { $stored }
upload-paused = The upload is paused: the connection was lost. It goes on from where it stopped. { $stored }
upload-preparing = Preparing { $size }…
upload-progress = Uploading: { $stored }
upload-stored = { $done } of { $total } are stored ({ $percent }%).
upload-sealing = Sealing and sending your reply…
upload-failed = Your reply was not sent: { $reason } Nothing you wrote is lost; try again.
upload-error-signed-out = Your Message Center session has ended: sign in again, then send.
upload-error-gone = The message you are answering is no longer available.
upload-error-forbidden = This page has expired, or the message needs its unlock code first: open the reply form again.
upload-error-not-found = This message cannot be answered from here: open the reply form again.
upload-error-too-large = This message is larger than this organisation accepts: choose fewer or smaller attachments.
upload-error-over-limit = This organisation accepts only so many messages from the Message Center per hour and per day, and you have reached that for now: send later, or save a draft.
