"""The webhook receiver (webhook_receiver.py) checked on its own, without Gatehouse: requests
signed in Python exactly as the Standard Webhooks specification says are verified by the npm
library inside it, tampered ones are not, rotation overlap works with either secret, plans are
followed in order, and the Slack sink answers as hooks.slack.com does."""
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time

import pytest
import requests

from webhook_receiver import WebhookReceiver


def new_secret():
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret, msg_id, timestamp, body):
    """v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>, key = base64 after whsec_."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def deliver(rx, path, body, msg_id="msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", timestamp=None,
            signature=None, secret=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    if signature is None:
        signature = sign(secret, msg_id, timestamp, body)
    return requests.post(rx.url(path), data=body, timeout=10, headers={
        "content-type": "application/json", "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp), "webhook-signature": signature})


BODY = json.dumps({"type": "member.invited", "timestamp": "2024-05-01T12:00:00Z",
                   "data": {"email": "ann@example.com"}}).encode()


def test_python_signer_matches_the_specifications_example():
    assert sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330, b'{"test": 2432232314}') == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.fixture
def rx():
    with WebhookReceiver() as receiver:
        yield receiver


def test_verifies_a_request_signed_per_the_spec(rx):
    secret = new_secret()
    rx.secrets([secret])
    r = deliver(rx, "/hook", BODY, secret=secret)
    assert r.status_code == 200
    [got] = rx.attempts("/hook")
    assert got["verified"] is True and got["verified_with"] == 0, got
    assert got["body"] == BODY.decode()
    assert got["headers"]["webhook-id"] == "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    assert got["answered"] == 200 and got["slack_valid"] is None
    assert abs(got["at"] - time.time()) < 30


def test_rejects_tampered_requests(rx):
    secret = new_secret()
    rx.secrets([secret])
    now = int(time.time())
    good = sign(secret, "msg_1", now, BODY)
    deliver(rx, "/t", BODY.replace(b"ann@", b"bob@"), "msg_1", now, good)  # body
    deliver(rx, "/t", BODY, "msg_2", now, good)  # id
    deliver(rx, "/t", BODY, "msg_1", now + 1, good)  # timestamp
    deliver(rx, "/t", BODY, "msg_1", now, sign(new_secret(), "msg_1", now, BODY))  # other key
    deliver(rx, "/t", BODY, "msg_1", now, good.replace("v1,", "v2,"))  # version
    old = now - 600
    deliver(rx, "/t", BODY, "msg_1", old, sign(secret, "msg_1", old, BODY))  # replayed late
    deliver(rx, "/t", BODY, "msg_1", now, good)  # the untouched one, last
    got = rx.attempts("/t")
    assert [a["verified"] for a in got] == [False] * 6 + [True], [a["verify_error"] for a in got]
    assert "too old" in got[5]["verify_error"]
    assert all(a["answered"] == 200 for a in got)  # "then 200" whatever the signature


def test_rotation_overlap_accepts_either_secret(rx):
    current, previous = new_secret(), new_secret()
    rx.secrets([current, previous])
    now = int(time.time())
    deliver(rx, "/r", BODY, "msg_a", now, sign(previous, "msg_a", now, BODY))
    both = sign(current, "msg_b", now, BODY) + " " + sign(previous, "msg_b", now, BODY)
    deliver(rx, "/r", BODY, "msg_b", now, both)
    deliver(rx, "/r", BODY, "msg_c", now, sign(new_secret(), "msg_c", now, BODY))
    got = rx.attempts("/r")
    assert [(a["verified"], a["verified_with"]) for a in got] == [(True, 1), (True, 0),
                                                                   (False, None)]


def test_follows_a_plan_in_order_then_answers_200(rx):
    secret = new_secret()
    rx.secrets([secret])
    rx.plan("/p", [503, 503, {"status": 429, "retry_after": 7}, 410])
    answers = [deliver(rx, "/p", BODY, secret=secret) for _ in range(5)]
    assert [r.status_code for r in answers] == [503, 503, 429, 410, 200]
    assert answers[2].headers["retry-after"] == "7"
    assert [a["answered"] for a in rx.attempts("/p")] == [503, 503, 429, 410, 200]
    assert rx.attempts("/other") == []
    assert len(rx.attempts()) == 5


def test_reject_unverified_answers_401(rx):
    rx.secrets([new_secret()], reject_unverified=True)
    r = deliver(rx, "/u", BODY, secret=new_secret())
    assert r.status_code == 401
    assert rx.attempts("/u")[0]["answered"] == 401


def test_a_delayed_answer_holds_back(rx):
    rx.plan("/slow", [{"status": 200, "delay_ms": 3000}])
    with pytest.raises(requests.Timeout):
        requests.post(rx.url("/slow"), data=b"{}", timeout=0.5)
    assert rx.wait_for("/slow", 1)[0]["answered"] == 200


def test_wait_for_sees_attempts_that_arrive_later(rx):
    threading.Timer(0.3, lambda: requests.post(rx.url("/later"), data=b"{}", timeout=5)).start()
    assert len(rx.wait_for("/later", 1, timeout=5)) == 1
    with pytest.raises(AssertionError):
        rx.wait_for("/never", 1, timeout=0.3)


def test_refuses_a_secret_that_is_not_base64(rx):
    with pytest.raises(RuntimeError):
        rx.secrets(["whsec_not base64!"])


SLACK = {"text": "Ann invited bob@example.com",
         "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Ann* invited bob"}}]}


def test_slack_sink_accepts_text_and_blocks(rx):
    r = requests.post(rx.url("/slack/T1/B1/x"), json=SLACK, timeout=10)
    assert (r.status_code, r.text, r.headers["content-type"]) == (200, "ok", "text/plain")
    [got] = rx.attempts("/slack/T1/B1/x")
    assert got["slack_valid"] is True and got["verified"] is False


@pytest.mark.parametrize("payload", [
    {"text": "no blocks"},
    {"blocks": [{"type": "section"}]},
    {"text": "x", "blocks": [{"text": "no type"}]},
    {"text": "x", "blocks": "section"},
    ["not", "an", "object"],
])
def test_slack_sink_refuses_other_shapes(rx, payload):
    r = requests.post(rx.url("/slack/T1/B1/x"), json=payload, timeout=10)
    assert (r.status_code, r.text) == (400, "invalid_payload")
    assert rx.attempts("/slack/T1/B1/x")[0]["slack_valid"] is False


def test_slack_sink_answers_slacks_errors_on_plan(rx):
    rx.plan("/slack/T1/B1/x", [400, 404, 410, 429])
    got = [requests.post(rx.url("/slack/T1/B1/x"), json=SLACK, timeout=10) for _ in range(5)]
    assert [(r.status_code, r.text) for r in got] == [
        (400, "invalid_payload"), (404, "channel_not_found"), (410, "channel_is_archived"),
        (429, "rate_limited"), (200, "ok")]
    assert got[3].headers["retry-after"] == "1"
    assert "retry-after" not in got[4].headers
