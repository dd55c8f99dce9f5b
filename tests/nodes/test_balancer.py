"""Two platform nodes on one PostgreSQL database and one S3 bucket, behind haproxy
(`haproxy.cfg`), checked the way an operator would: through the balancer as users reach it,
on each node's own /metrics, and in haproxy's runtime API and the database.

- requests alternate between the nodes, even over one kept-alive connection; the nodes'
  metrics are not served through the balancer;
- a secure send from the real helper, the recipient's first contact, reading and reply in the
  Message Center, each node answering part of it, and the sender told of the reply once;
- sign-in guesses spread over the nodes lock the account and hit the per-address limit as on
  one node, and the limit is the guesser's, not the balancer's;
- a node killed (SIGKILL) in the middle of a large upload while a recipient keeps reading:
  the helper resumes on the other node, the message is finalised once with every byte, the
  audit chain verifies, and the reader loses at most the download that node was streaming;
- three sends at once with the platform mailing the links, a node killed while they upload:
  all succeed, each message final once with every byte, one notice queued per recipient and
  sent once (again, with the same Message-ID, only if the dead node was handing it over);
- a rolling restart (SIGTERM with drain, start again; then the other node) under load: no
  request fails.
"""

import json
import os
import re
import secrets
import subprocess
import threading
import time
import uuid

import requests

from harness import ALICE, PASSWORD, TENANT, wait_until
from reader import compose
from stack import csrf, read_in_center

SIGN_IN = "/api/v1/auth/sign-in"


def served(stack, *route_prefixes: str) -> list[int]:
    """Requests each node's /metrics has counted on routes starting with any of
    `route_prefixes`."""
    return [sum(node.requests_served(p) for p in route_prefixes) for node in stack.nodes]


def since(before: list[int], after: list[int]) -> list[int]:
    return [a - b for a, b in zip(after, before)]


def send(stack, tmp_path, to: str, subject: str, attachment: bytes) -> tuple[str, str]:
    """Alice sends a message with the helper's `send` (an .eml, as a mail client hands it
    over) through the balancer; its link and message id."""
    path = tmp_path / "message.eml"
    path.write_bytes(bytes(compose(to, subject, f"<p>MARKER {subject}</p>",
                                   attachments=[("figures.bin", attachment)])))
    out = stack.desk.helper("send", str(path))
    return re.search(r"Link: (\S+)", out).group(1), re.search(r"Message ([0-9a-f-]{36})", out).group(1)


def test_requests_alternate_between_the_nodes(both_up):
    stack = both_up
    before = served(stack, "/api/v1/keys/platform")
    client = stack.client()  # one connection, kept alive: haproxy balances each request
    for _ in range(20):
        assert client.get(f"{stack.base}/api/v1/keys/platform", timeout=10).status_code == 200
    per_node = since(before, served(stack, "/api/v1/keys/platform"))
    assert sum(per_node) == 20, per_node
    assert min(per_node) >= 5, f"each node answers its share: {per_node}"
    # Metrics are each node's, for Prometheus on the nodes' own addresses, not for the world.
    assert client.get(f"{stack.base}/metrics", timeout=10).status_code == 404


def test_a_secure_send_from_the_helper_is_read_and_answered_in_the_center_through_the_balancer(both_up, tmp_path):
    stack = both_up
    attachment = os.urandom(300_000)
    before_api, before_center = served(stack, "/api/"), served(stack, "/m/", "/c/")
    link, _ = send(stack, tmp_path, "bob@outside.example", "Figures through the balancer", attachment)
    assert link.startswith(f"{stack.base}/m/"), f"links name the balancer: {link}"

    browser = stack.client()
    page, read_url = read_in_center(stack, browser, link, "bob@outside.example")
    assert "Figures through the balancer" in page and "MARKER Figures through the balancer" in page
    download = browser.get(f"{read_url}/attachments/1", timeout=30)
    assert download.status_code == 200 and download.content == attachment

    # Bob replies with an attachment (sealed on whichever node takes the form); alice is told
    # by mail, once, whichever node's mail worker takes the notice.
    opaque = link.rsplit("/", 1)[1]
    notices_before = sum(1 for m in list(stack.sink.messages) if ALICE in m.rcpt_tos)
    form = browser.get(f"{stack.base}/c/reply/{opaque}", timeout=30)
    sent = browser.post(f"{stack.base}/c/reply/{opaque}", timeout=30, data={
        "csrf": csrf(form.text), "all": "0", "subject": "Re: Figures through the balancer",
        "text": "MARKER reply through the balancer"}, files={"files": ("signed.txt", b"signed")})
    assert sent.status_code == 200 and sent.url.endswith("/c/mail/sent"), (sent.status_code, sent.url)
    assert "Re: Figures through the balancer" in sent.text
    wait_until("the reply notice to alice", lambda: sum(
        1 for m in list(stack.sink.messages) if ALICE in m.rcpt_tos) > notices_before, 30)
    # The helper's calls and the Center session were answered by both nodes: nothing either
    # needed was in the other's memory.
    api, center = since(before_api, served(stack, "/api/")), since(before_center, served(stack, "/m/", "/c/"))
    assert min(api) > 0 and min(center) > 0, f"API requests per node {api}, Center {center}"
    # Both nodes' mail workers share the queue: the notice went out once.
    notices = [m for m in list(stack.sink.messages) if ALICE in m.rcpt_tos][notices_before:]
    assert len(notices) == 1, [m.message["Subject"] for m in notices]


def test_sign_in_guesses_spread_over_the_nodes_are_limited_as_on_one(both_up):
    stack = both_up
    stack.admin("create-user", "--tenant", "acme", "--email", "bob@acme.example",
                stdin="bob's own long password")
    before = served(stack, SIGN_IN)

    def sign_in(client, email, password):
        # Each guess claims another address in X-Forwarded-For: the balancer drops it, and the
        # nodes believe only the balancer's.
        forged = f"198.51.100.{secrets.randbelow(250) + 1}"
        r = client.post(f"{stack.base}{SIGN_IN}", json={"email": email, "password": password},
                        headers={"X-Forwarded-For": forged}, timeout=30)
        return r.status_code, (r.json()["error"]["code"] if r.status_code != 201 else "signed in")

    # The account lockout: five wrong passwords for bob, answered by both nodes, lock it; then
    # even the right one is refused.
    guesser = stack.client(from_ip="127.0.0.4")
    answers = [sign_in(guesser, "bob@acme.example", f"guess {i}") for i in range(5)]
    assert answers == [(401, "bad_credentials")] * 4 + [(429, "locked")], answers
    assert sign_in(guesser, "bob@acme.example", "bob's own long password") == (429, "locked")

    # The per-address limit (20 a minute): a client trying many accounts is refused from the
    # 21st attempt, whichever node it reaches.
    sprayer = stack.client(from_ip="127.0.0.3")
    answers = [sign_in(sprayer, f"nobody{i}@acme.example", "a guess") for i in range(21)]
    assert answers == [(401, "bad_credentials")] * 20 + [(429, "rate_limited")], answers
    per_node = since(before, served(stack, SIGN_IN))
    assert sum(per_node) == 27 and min(per_node) > 0, f"both nodes counted: {per_node}"

    # The limit is that client's, not the balancer's: alice, elsewhere, signs in.
    assert sign_in(stack.client(), ALICE, PASSWORD) == (201, "signed in")


def test_a_node_killed_in_the_middle_of_a_large_upload(both_up, tmp_path):
    stack = both_up
    # A recipient (on another computer: 127.0.0.5) keeps downloading another message meanwhile.
    small = os.urandom(200_000)
    link, _ = send(stack, tmp_path, "dave@outside.example", "Read while a node dies", small)
    reader = stack.client(from_ip="127.0.0.5")
    _, read_url = read_in_center(stack, reader, link, "dave@outside.example")
    reads: list[tuple[float, bool]] = []
    stop_reading = threading.Event()

    def keep_reading():
        while not stop_reading.is_set():
            started = time.monotonic()
            try:
                r = reader.get(f"{read_url}/attachments/1", timeout=30)
                reads.append((started, r.status_code == 200 and r.content == small))
            except requests.RequestException:
                reads.append((started, False))
    reading = threading.Thread(target=keep_reading)
    reading.start()

    attachment = os.urandom(24 << 20)
    subject = f"Large {secrets.token_hex(4)}"
    path = tmp_path / "large.eml"
    path.write_bytes(bytes(compose("carol@outside.example", subject, "<p>large</p>",
                                   attachments=[("large.bin", attachment)])))
    sending = subprocess.Popen([stack.desk.helper_bin, "send", path], env=stack.desk.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # Some megabytes in, the node serving the upload's current request is killed.
    def under_way():
        rows = stack.sql(f"SELECT id, received FROM messages WHERE subject = '{subject}'")
        return rows and int(rows[0][1]) >= 4 << 20 and rows[0][0]
    message_id = wait_until("the upload under way", under_way, 60, every=0.05)

    def serving_the_upload():
        serving = stack.balancer.serving("127.0.0.1")  # alice's computer
        return next((n for n in stack.nodes if n.name in serving), None)
    victim = wait_until("a node in the middle of an upload request", serving_the_upload, 30, every=0.01)
    victim.kill()
    killed_at = time.monotonic()

    out, err = sending.communicate(timeout=180)
    stop_reading.set()
    reading.join()
    # The reader lost at most the download the dead node was streaming; every read that
    # started after it died was answered whole (haproxy sends it to the node that is left).
    lost = [started for started, ok in reads if not ok]
    after = [ok for started, ok in reads if started > killed_at]
    assert len(lost) <= 1 and all(t < killed_at for t in lost), (len(lost), len(reads))
    assert after and all(after), f"{len(after)} reads after the kill"
    assert sending.returncode == 0, f"the send succeeded anyway: {err}"
    assert f"Message {message_id}" in out
    logs = "".join(p.read_text() for p in (stack.desk.home / ".local" / "state" / "sealpost").glob("*"))
    assert "upload interrupted; resuming" in logs, "the kill cut an upload request off"

    # Final once, with every byte: contiguous segments (offsets from the database, the bytes
    # from S3, whichever node took them), one finalise in the audit log, the chain intact.
    [[state, received, size]] = stack.sql(
        f"SELECT state, received, envelope_size FROM messages WHERE id = '{message_id}'")
    assert state == "final" and received == size, (state, received, size)
    segments = stack.sql(f"SELECT start, len FROM envelope_segments WHERE message_id = '{message_id}' ORDER BY seq")
    end = 0
    for start, length in segments:
        assert int(start) == end, f"segments without gap or overlap: {segments}"
        end += int(length)
    assert end == int(size)
    assert stack.sql(f"SELECT COUNT(*) FROM audit_log WHERE action = 'message.finalised' "
                     f"AND detail = '{message_id}'") == [["1"]]
    verified = stack.platform_command("audit", "verify")
    assert verified.returncode == 0 and b"intact" in verified.stdout, verified.stderr

    # The recipient reads it, every byte, from the node that is left.
    link = re.search(r"Link: (\S+)", out).group(1)
    browser = stack.client()
    _, read_url = read_in_center(stack, browser, link, "carol@outside.example")
    download = browser.get(f"{read_url}/attachments/1", timeout=120)
    assert download.status_code == 200 and download.content == attachment


def test_concurrent_sends_survive_a_node_killed_and_each_recipient_is_told_once(both_up, tmp_path):
    """Three sends at once, the platform mailing each recipient their link: a node is killed
    while they upload. Every send succeeds, each message is final once with every byte, the
    mail queue (shared, leased) holds one notice per recipient and sends it — again only if
    the dead node was handing that very mail over — and the audit chain verifies."""
    stack = both_up
    policy = json.loads(stack.admin("show-policy", "--tenant", TENANT))
    platform_sends = dict(policy, notification_mode="platform_sends")
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(platform_sends))
    stack.admin("set-policy", "--tenant", TENANT, "--file", str(path))
    try:
        tag = secrets.token_hex(4)
        recipients = [f"kim{i}-{tag}@outside.example" for i in range(3)]
        attachments = [os.urandom((8 + 4 * i) << 20) for i in range(3)]
        sends = []
        for i, (to, attachment) in enumerate(zip(recipients, attachments)):
            eml = tmp_path / f"concurrent-{i}.eml"
            eml.write_bytes(bytes(compose(to, f"Concurrent {tag} {i}", "<p>concurrent</p>",
                                          attachments=[("part.bin", attachment)])))
            sends.append(subprocess.Popen([stack.desk.helper_bin, "send", eml], env=stack.desk.env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))

        def two_under_way():
            rows = stack.sql(f"SELECT received FROM messages WHERE subject LIKE 'Concurrent {tag} %'")
            return sum(1 for [received] in rows if int(received) >= 1 << 20) >= 2
        wait_until("two uploads under way", two_under_way, 60, every=0.05)
        victim = wait_until("a node serving an upload", lambda: next(
            (n for n in stack.nodes if n.name in stack.balancer.serving("127.0.0.1")), None), 30, every=0.01)
        victim.kill()
        outs = [p.communicate(timeout=180) for p in sends]
        assert [p.returncode for p in sends] == [0, 0, 0], [err for _, err in outs]
        assert all("send no stub" in out for out, _ in outs), "the platform mails the links"
        ids = [re.search(r"Message ([0-9a-f-]{36})", out).group(1) for out, _ in outs]

        for message_id, attachment in zip(ids, attachments):
            [[state, received, size]] = stack.sql(
                f"SELECT state, received, envelope_size FROM messages WHERE id = '{message_id}'")
            assert state == "final" and received == size, (state, received, size)
            assert int(size) > len(attachment)
            assert stack.sql(f"SELECT COUNT(*) FROM audit_log WHERE action = 'message.finalised' "
                             f"AND detail = '{message_id}'") == [["1"]]

        # Each recipient is told, from one queued mail each. A notice the dead node had claimed
        # waits for its lease (2 minutes) and is then sent by the node that is left; if the
        # node died after the relay took the mail but before it could record that, the mail
        # goes again — the same mail, with the same Message-ID (delivery is at least once:
        # docs/operations.md) — and only that one.
        def told(to):
            return [m for m in list(stack.sink.messages) if to in m.rcpt_tos]
        for to in recipients:
            wait_until(f"the link mailed to {to}", lambda: told(to), 180)
        wait_until("the queue drained", lambda: stack.sql(
            "SELECT COUNT(*) FROM notifications WHERE state = 'queued'") == [["0"]], 180)
        for to in recipients:
            assert stack.sql(f"SELECT COUNT(*), MIN(state) FROM notifications WHERE recipient = '{to}' "
                             "AND kind = 'message_link'") == [["1", "sent"]], f"one notice queued for {to}"
            ids = {m.message["Message-ID"] for m in told(to)}
            assert len(ids) == 1, f"{to} got different notices: {ids}"
        again = [to for to in recipients if len(told(to)) > 1]
        assert len(again) <= 1 and all(len(told(to)) == 2 for to in again), \
            f"only the mail the dead node was handing over goes twice: {[len(told(to)) for to in recipients]}"
        verified = stack.platform_command("audit", "verify")
        assert verified.returncode == 0 and b"intact" in verified.stdout, verified.stderr
    finally:
        path.write_text(json.dumps(policy))
        stack.admin("set-policy", "--tenant", TENANT, "--file", str(path))


def test_a_rolling_restart_under_load_loses_no_request(both_up):
    stack = both_up
    token = stack.client().post(f"{stack.base}{SIGN_IN}", json={"email": ALICE, "password": PASSWORD},
                                timeout=30).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    results: list[tuple[str, str, object]] = []
    stop = threading.Event()

    def load():
        # A client that never retries: each request counts once, whatever the answer.
        client = stack.client()
        while not stop.is_set():
            slip = {"id": str(uuid.uuid4()), "to": ["bob@outside.example"], "subject": "load",
                    "envelope_size": 4096}
            for method, route, body in (("GET", "/api/v1/me", None), ("GET", "/api/v1/policy", None),
                                        ("POST", "/api/v1/messages", slip)):
                try:
                    r = client.request(method, f"{stack.base}{route}", json=body, headers=auth, timeout=30)
                    results.append((method, route, r.status_code))
                except Exception as e:  # noqa: BLE001 (any failure is what this test looks for)
                    results.append((method, route, repr(e)))

    workers = [threading.Thread(target=load) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        wait_until("load under way", lambda: len(results) > 30, 30)
        for node in stack.nodes:
            assert node.terminate() == 0, f"node {node.name} drained and exited cleanly"
            assert stack.balancer.status(node) == "DOWN", "the balancer took it out before it stopped"
            stack.restart_when_down(node)
            counted = len(results)
            wait_until("requests on the restarted node", lambda: len(results) > counted + 30, 30)
    finally:
        stop.set()
        for w in workers:
            w.join()
    failed = [r for r in results if r[2] not in (200, 201)]
    assert not failed, f"{len(failed)} of {len(results)} requests failed: {failed[:10]}"
