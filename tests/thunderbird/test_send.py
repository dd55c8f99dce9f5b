"""Secure sending from real Thunderbird: what the SMTP sink receives, what the platform
stores (decrypted with an admin's export) and what the Sent folder keeps, for each case of
the Thunderbird issue."""

import json
import os
import threading
import time

from harness import ALICE, Control, Desk, Thunderbird, wait_until

OUTSIDE = "bob@outside.example"
INSIDE = "dave@acme.example"
SECRET_BCC = "carol@acme.example"


def samples(data: bytes, n: int = 8, size: int = 48) -> list[bytes]:
    """Windows of `data` spread over its length: if any appears, the bytes leaked."""
    step = max(1, (len(data) - size) // max(1, n - 1))
    return [data[i:i + size] for i in range(0, len(data) - size + 1, step)][:n]


def everything_in(raw: bytes, message) -> list[bytes]:
    """The raw mail and every part's decoded payload (base64, quoted-printable undone)."""
    out = [raw]
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if payload:
            out.append(payload)
    return out


def assert_absent(needles: list[bytes], haystacks: list[bytes], what: str):
    for needle in needles:
        for hay in haystacks:
            assert needle not in hay, f"{what} leaked"


def compose_and_send(world, control=None, toggle=False, watch=None, **message):
    """Composes, clicks the toggle if asked, waits for the button to settle and sends. With
    `watch` (a list), the button is read over and over while the send runs, into `watch`."""
    control = control or world.control
    tab = control.call("compose", **message)["tab"]
    if toggle:
        control.call("click_toggle", tab=tab)
    button = wait_for_button(control, tab, toggle)
    if watch is None:
        return tab, button, control.call("send", timeout=300, tab=tab)
    outcome = {}
    sender = threading.Thread(target=lambda: outcome.update(control.call("send", timeout=300, tab=tab)))
    sender.start()
    while sender.is_alive():
        seen = control.try_call("button", tab=tab)
        if seen.get("ok"):  # not once the window has closed after sending
            watch.append(seen)
        time.sleep(0.05)
    sender.join()
    return tab, button, outcome


def wait_for_button(control, tab, toggled):
    """The Sealpost button once it has classified the message (and shows the user's click)."""
    def settled():
        b = control.call("button", tab=tab)
        if b["label"] in ("", "Send secure") or b["tooltip"].startswith("Sealpost: checking"):
            return None
        if toggled and b["label"] == "Secure: off":
            return None
        return b
    return wait_until("the Sealpost button to show its state", settled, 30, every=0.25)


def secured_stub(world, count, original_markers):
    """The stub the sink received as message `count`: checked, and its platform message id."""
    got = world.sink.wait_for(count)
    mail = got.message
    message_id = mail["X-Sealpost-Message-Id"]
    assert message_id, "the stub carries X-Sealpost-Message-Id"
    body = mail.get_body(("plain",)).get_content()
    assert f"{world.platform.base}/m/" in body, "the stub links to the platform"
    assert not [p for p in mail.walk() if p.get_filename()], "no attachment in the stub"
    assert_absent(original_markers, everything_in(got.raw, mail), "the message's text")
    return got, message_id


def test_external_recipient_html_two_attachments_only_the_stub_leaves(world, tmp_path):
    report = os.urandom(300 * 1024)
    big = os.urandom(20 * 1024 * 1024)
    world.control.files.update({"report.pdf": report, "big.bin": big})
    before = world.sink.count()
    seen = []
    _, button, result = compose_and_send(
        world,
        watch=seen,
        to=[f"Bob Outside <{OUTSIDE}>"],
        bcc=[SECRET_BCC],
        subject="Quarterly figures",
        html="<p>Figures attached.</p><p><b>MARKER-Q3-BODY</b> with \u00fcml\u00e4uts</p>",
        attachments=[{"name": "report.pdf", "type": "application/pdf"}, {"name": "big.bin"}],
    )
    assert button["label"] == "Secure: required"
    assert f"{OUTSIDE} is outside your organisation" in button["tooltip"]
    assert result["sent"], result
    shown = [b for b in seen if b["badge"].endswith("%")]
    assert shown, f"the compose window showed progress while sending: {seen}"
    assert any("encrypting" in b["tooltip"] or "uploading" in b["tooltip"] for b in shown)

    got, message_id = secured_stub(world, before + 1, [b"MARKER-Q3-BODY"])
    assert len(got.raw) < 64 * 1024, "only a small stub goes over SMTP"
    assert_absent(samples(report) + samples(big), everything_in(got.raw, got.message), "attachment bytes")
    assert sorted(got.rcpt_tos) == sorted([OUTSIDE, SECRET_BCC]), "every recipient gets the stub"
    assert SECRET_BCC not in got.raw.decode("utf-8", "replace"), "BCC stays hidden"
    assert got.message["Subject"] == "Secure message: Quarterly figures"

    # The platform holds the original, byte for byte, and nothing of the BCC in the envelope.
    export = world.platform.export(message_id, tmp_path)
    assert "MARKER-Q3-BODY" in (export / "body.html").read_text()
    assert "with \u00fcml\u00e4uts" in (export / "body.html").read_text()
    assert "MARKER-Q3-BODY" in (export / "body.txt").read_text()
    assert (export / "attachments" / "1-report.pdf").read_bytes() == report
    assert (export / "attachments" / "2-big.bin").read_bytes() == big
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["metadata"]["from"] == ALICE
    assert manifest["metadata"]["to"] == [OUTSIDE]
    assert SECRET_BCC not in json.dumps(manifest)
    assert [a["content_type"] for a in manifest["attachments"]] == ["application/pdf", "application/octet-stream"]

    # The Sent folder keeps the stub with its link, not the message.
    sent = wait_until("the stub in the Sent folder",
                      lambda: (s := world.thunderbird.sent_folder()) and message_id.encode() in s and s, 30)
    assert b"MARKER-Q3-BODY" not in sent
    assert_absent(samples(report), [sent], "attachment bytes in the Sent copy")


def test_internal_recipients_with_the_toggle_off_are_sent_untouched(world):
    before = world.sink.count()
    _, button, result = compose_and_send(
        world, to=[INSIDE], subject="Lunch on Friday", text="MARKER-LUNCH see you at noon")
    assert button["label"] == "Secure: off"
    assert result["sent"], result
    got = world.sink.wait_for(before + 1)
    assert "MARKER-LUNCH" in got.message.get_body(("plain",)).get_content()
    assert got.message["X-Sealpost-Message-Id"] is None
    assert got.message["Subject"] == "Lunch on Friday"


def test_the_toggle_secures_a_message_to_an_internal_recipient(world, tmp_path):
    before = world.sink.count()
    _, button, result = compose_and_send(
        world, toggle=True, to=[INSIDE], subject="Salary review", text="MARKER-SALARY 5% more")
    assert button["label"] == "Secure: on", button
    assert result["sent"], result
    _, message_id = secured_stub(world, before + 1, [b"MARKER-SALARY"])
    export = world.platform.export(message_id, tmp_path)
    assert "MARKER-SALARY 5% more" in (export / "body.txt").read_text()
    token = world.platform.sign_in()
    summary = world.platform.api("GET", f"/api/v1/messages/{message_id}", token=token)
    assert summary["unlock_code"] is False, "no unlock code unless the sender sets one"


def test_an_unlock_code_set_from_the_button_locks_the_message(world):
    """The sender right-clicks the Sealpost button, sets an unlock code in its window, and
    the message goes out secured with the code set on the platform, never in the mail."""
    control = world.control
    before = world.sink.count()
    tab = control.call("compose", to=[INSIDE], subject="Door code", text="MARKER-DOOR")["tab"]
    assert wait_for_button(control, tab, False)["label"] == "Secure: off"

    assert control.call("menu_item", tab=tab, item="unlock-code")["label"] == "Unlock code…"

    def page(action, selector, value=""):
        return control.call("page", url="/unlock/unlock.html", action=action, selector=selector, value=value)

    wait_until("the unlock-code window", lambda: page("present", "body[data-ready]")["result"], 30, 0.2)
    page("fill", "#code", " 12345 ")
    page("click", "#set")
    problem = wait_until("the window to refuse a short code", lambda: page("read", "#problem")["result"]["text"], 10)
    assert "6 to 64 characters" in problem
    assert not control.call("button", tab=tab)["tooltip"].count("unlock code"), "nothing was set"

    page("fill", "#code", "7 blue herons")
    page("click", "#set")
    wait_until("the window to close", lambda: not page("present", "body")["present"], 10, 0.2)
    button = wait_until("the button to show the code is set",
                        lambda: (b := control.call("button", tab=tab))["label"] == "Secure: on"
                        and "unlock code" in b["tooltip"] and b, 30, 0.25)
    assert "7 blue herons" not in button["tooltip"], "the tooltip never shows the code"

    result = control.call("send", timeout=300, tab=tab)
    assert result["sent"], result
    got, message_id = secured_stub(world, before + 1, [b"MARKER-DOOR", b"7 blue herons"])
    token = world.platform.sign_in()
    assert world.platform.api("GET", f"/api/v1/messages/{message_id}", token=token)["unlock_code"] is True


def test_a_subject_keyword_secures_by_policy(world):
    before = world.sink.count()
    _, button, result = compose_and_send(
        world, to=[INSIDE], subject="Confidential: the merger", text="MARKER-MERGER talks")
    assert button["label"] == "Secure: required"
    assert "confidential" in button["tooltip"]
    assert result["sent"], result
    secured_stub(world, before + 1, [b"MARKER-MERGER"])


def test_a_dlp_pattern_in_the_body_secures_by_policy(world):
    before = world.sink.count()
    _, button, result = compose_and_send(
        world, to=[INSIDE], subject="New hire", html="<p>MARKER-HIRE her SSN is 078-05-1120</p>")
    assert button["label"] == "Secure: required"
    assert "information your organisation protects" in button["tooltip"]
    assert result["sent"], result
    secured_stub(world, before + 1, [b"MARKER-HIRE", b"078-05-1120"])


def test_policy_can_keep_the_subject_out_of_the_stub(world):
    world.platform.set_policy(stub_keeps_subject=False)
    try:
        before = world.sink.count()
        _, _, result = compose_and_send(
            world, to=[OUTSIDE], subject="Takeover of Initech", text="MARKER-TAKEOVER")
        assert result["sent"], result
        got, _ = secured_stub(world, before + 1, [b"MARKER-TAKEOVER", b"Initech"])
        assert "Initech" not in got.message["Subject"]
    finally:
        world.platform.set_policy(stub_keeps_subject=True)


def test_the_sent_stub_opens_the_secure_message_in_the_browser(world):
    before = world.sink.count()
    _, _, secured = compose_and_send(world, to=[OUTSIDE], subject="Contract", text="MARKER-CONTRACT")
    _, _, plain = compose_and_send(world, to=[INSIDE], subject="Coffee?", text="MARKER-COFFEE")
    assert secured["sent"] and plain["sent"]
    stub = world.sink.wait_for(before + 1).message.get_body(("plain",)).get_content()
    link = next(w.strip("<>") for w in stub.split() if "/m/" in w)
    world.sink.wait_for(before + 2)
    control = world.control

    def action_of(header_message_id):
        tab = control.call("open_message", headerMessageId=header_message_id)["tab"]
        return tab, lambda click=False: control.call("display_action", tab=tab, click=click)

    _, plain_action = action_of(plain["headerMessageId"])
    time.sleep(2)  # time for the extension to look at the message
    ordinary = plain_action()
    assert ordinary["present"] and not ordinary["enabled"], "no action on an ordinary message"

    _, stub_action = action_of(secured["headerMessageId"])
    shown = wait_until("the action on the stub", lambda: (a := stub_action())["enabled"] and a, 30, 0.25)
    assert shown["label"] == "Open secure message"
    stub_action(click=True)
    opened = wait_until("the browser to be asked for the link", lambda: world.desk.opened_urls, 30)
    assert opened == [link]


def test_clicking_the_button_during_a_secure_send_cancels_it(world):
    world.control.files["large.bin"] = os.urandom(24 * 1024 * 1024)
    before = world.sink.count()
    control = world.control
    tab = control.call("compose", to=[OUTSIDE], subject="Big drawings", text="MARKER-DRAWINGS",
                       attachments=[{"name": "large.bin"}])["tab"]
    wait_for_button(control, tab, False)
    outcome = {}
    sender = threading.Thread(target=lambda: outcome.update(control.call("send", timeout=300, tab=tab)))
    sender.start()
    wait_until("progress on the button", lambda: control.call("button", tab=tab)["badge"].endswith("%"), 60, 0.02)
    control.call("click_toggle", tab=tab)
    sender.join()
    assert not outcome["sent"], "the user cancelled the send"
    assert [a["name"] for a in outcome["remaining"]["attachments"]] == ["large.bin"]
    assert "MARKER-DRAWINGS" in outcome["remaining"]["body"]
    told = control.call("button", tab=tab)
    assert "cancelled" in told["tooltip"], told
    time.sleep(2)
    assert world.sink.count() == before, "nothing reached the mail server"


def test_a_message_from_another_address_than_the_signed_in_one_is_not_sent(world):
    before = world.sink.count()
    tab, _, result = compose_and_send(
        world, **{"from": "Alice Alias <alias@acme.example>"}, to=[OUTSIDE], subject="From the alias",
        text="MARKER-ALIAS")
    assert not result["sent"]
    told = world.control.call("button", tab=tab)
    assert "not signed in with" in told["tooltip"], told
    time.sleep(2)
    assert world.sink.count() == before


def test_when_the_platform_sends_the_notices_nothing_leaves_thunderbird(world):
    world.platform.set_policy(notification_mode="platform_sends")
    second = "erin@else.example"
    try:
        if not world.thunderbird.sent_folder():
            # An account that has sent before has a Sent folder (the copy goes there).
            compose_and_send(world, to=[INSIDE], subject="Hello", text="first mail")
        before = world.sink.count()
        sent_before = world.thunderbird.sent_folder().count(b"X-Sealpost-Message-Id")
        tab, button, result = compose_and_send(
            world, to=[OUTSIDE, second], subject="Board minutes", text="MARKER-BOARD minutes")
        assert button["label"] == "Secure: required"
        assert not result["sent"], "Thunderbird sends nothing itself"
        notices = [world.sink.wait_for(before + 1), world.sink.wait_for(before + 2)]
        time.sleep(3)
        assert world.sink.count() == before + 2, "one mail per recipient, none from alice"
        assert sorted(r for n in notices for r in n.rcpt_tos) == sorted([OUTSIDE, second])
        links = set()
        for n in notices:
            text = n.message.get_body(("plain",)).get_content()
            assert ALICE not in n.raw.decode("utf-8", "replace"), "not sent as alice, no address"
            assert_absent([b"MARKER-BOARD", b"Board minutes"], everything_in(n.raw, n.message), "the message")
            links.add(next(w for w in text.split() if "/m/" in w))
        assert len(links) == 2, "a personal link each"
        wait_until("the compose window to close",
                   lambda: not world.control.try_call("button", tab=tab).get("ok"), 15)
        # The Sent folder keeps the stub as the sender's record, never the message.
        sent = wait_until("the stub in the Sent folder",
                          lambda: (s := world.thunderbird.sent_folder()) and b"MARKER-BOARD" not in s
                          and s.count(b"X-Sealpost-Message-Id") > sent_before and s, 30)
        assert b"MARKER-BOARD" not in sent
    finally:
        world.platform.set_policy(notification_mode="sender_smtp")


def test_platform_down_cancels_the_send_and_keeps_the_message(world):
    world.control.files["plan.txt"] = b"MARKER-PLAN-ATTACHMENT " * 1000
    before = world.sink.count()
    world.platform.stop()
    try:
        tab, _, result = compose_and_send(
            world, to=[OUTSIDE], subject="Launch plan", text="MARKER-PLAN body",
            attachments=[{"name": "plan.txt", "type": "text/plain"}])
        assert not result["sent"], "the send is cancelled"
        kept = result["remaining"]
        assert "MARKER-PLAN body" in kept["body"], "the compose window keeps the body"
        assert [a["name"] for a in kept["attachments"]] == ["plan.txt"], "and the attachment"
        told = world.control.call("button", tab=tab)
        assert "platform cannot be reached" in told["tooltip"], told
        time.sleep(3)
        assert world.sink.count() == before, "nothing reached the mail server"
    finally:
        world.platform.start()


def test_helper_not_installed_cancels_a_message_policy_secures(world):
    desk = Desk(world.workdir, world.platform, "no-helper", helper_installed=False)
    control = Control()
    thunderbird = Thunderbird(desk, world.sink, control)
    world.extra.append(thunderbird)
    before = world.sink.count()
    try:
        tab, button, result = compose_and_send(
            world, control=control, to=[OUTSIDE], subject="Offer", text="MARKER-OFFER terms")
        assert button["label"] == "Secure: problem"
        assert not result["sent"], "the send is cancelled"
        assert "MARKER-OFFER terms" in result["remaining"]["body"]
        told = control.call("button", tab=tab)
        assert "helper is not installed" in told["tooltip"], told
        time.sleep(3)
        assert world.sink.count() == before, "nothing reached the mail server"
    finally:
        thunderbird.stop()
        control.shutdown()
