"""Messaging fixtures: fake SMS providers on loopback, templates, customers with mobiles."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kefu.accounts.models import User
from kefu.customers.models import Customer
from kefu.messaging import services
from kefu.messaging.models import MessageTemplate
from tests.factories import make_customer

KEY_ID = "test-key-id"
KEY_SECRET = "test-key-secret"


def _aliyun_expected(params: dict[str, str]) -> str:
    """Aliyun's RPC signature, written out from the provider's documentation (independent of kefu's)."""

    def enc(text: str) -> str:
        return urllib.parse.quote(text, safe="-_.~")

    query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()) if k != "Signature")
    string_to_sign = "POST&%2F&" + enc(query)
    return base64.b64encode(
        hmac.new((KEY_SECRET + "&").encode(), string_to_sign.encode(), "sha1").digest()
    ).decode()


def _tencent_expected(headers: Any, body: bytes) -> str:
    """TC3-HMAC-SHA256 as Tencent Cloud documents it, recomputed from what the server received."""
    timestamp = int(headers["X-TC-Timestamp"])
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    canonical = (
        "POST\n/\n\n"
        f"content-type:{headers['Content-Type']}\nhost:{headers['Host']}\n"
        f"x-tc-action:{headers['X-TC-Action'].lower()}\n\n"
        "content-type;host;x-tc-action\n" + hashlib.sha256(body).hexdigest()
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
    key = hmac.new(("TC3" + KEY_SECRET).encode(), date.encode(), "sha256").digest()
    key = hmac.new(key, b"sms", "sha256").digest()
    key = hmac.new(key, b"tc3_request", "sha256").digest()
    signature = hmac.new(key, to_sign.encode(), "sha256").hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={KEY_ID}/{scope}, SignedHeaders=content-type;host;x-tc-action, "
        f"Signature={signature}"
    )


class FakeProvider:
    """A provider on 127.0.0.1: checks each request's signature, then answers as `mode` says:
    ok, error (a business error such as an illegal number), busy (HTTP 503) or slow (no answer
    within the client's timeout)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        self.bad_signatures = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = provider.answer(self.headers, body)
                if provider.mode == "slow":
                    time.sleep(1.5)
                data = json.dumps(answer, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        if self.kind == "aliyun":
            params = dict(urllib.parse.parse_qsl(body.decode()))
            self.requests.append(params)
            if params.get("Signature") != _aliyun_expected(params) or params.get("AccessKeyId") != KEY_ID:
                self.bad_signatures += 1
                return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}
            if self.mode == "error":
                return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": "r1"}
            if self.mode == "busy":
                return 503, {"Code": "ServiceUnavailable", "Message": "busy"}
            return 200, {
                "Code": "OK",
                "Message": "OK",
                "BizId": f"biz{len(self.requests)}",
                "RequestId": "r1",
            }
        payload = json.loads(body or b"{}")
        self.requests.append({"headers": dict(headers), "body": payload})
        if headers.get("Authorization") != _tencent_expected(headers, body):
            self.bad_signatures += 1
            return 200, {"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"}}}
        if self.mode == "error":
            return 200, {
                "Response": {
                    "Error": {
                        "Code": "FailedOperation.TemplateIncorrectOrUnapproved",
                        "Message": "模板未审批",
                    },
                    "RequestId": "r2",
                }
            }
        if self.mode == "busy":
            return 503, {}
        return 200, {
            "Response": {
                "SendStatusSet": [
                    {
                        "SerialNo": f"sn-{number}",
                        "PhoneNumber": number,
                        "Code": "Ok",
                        "Message": "send success",
                    }
                    for number in payload.get("PhoneNumberSet", [])
                ],
                "RequestId": "r2",
            }
        }


def _serve(kind: str, settings: Any) -> FakeProvider:
    fake = FakeProvider(kind)
    settings.SMS_BACKEND = kind
    settings.SMS_ENDPOINT = fake.url
    settings.SMS_KEY_ID = KEY_ID
    settings.SMS_KEY_SECRET = KEY_SECRET
    settings.SMS_APP_ID = "1400000000"
    settings.SMS_TIMEOUT = 0.5
    return fake


@pytest.fixture(params=["aliyun", "tencent"])
def provider(request: Any, settings: Any) -> Iterator[FakeProvider]:
    fake = _serve(request.param, settings)
    yield fake
    fake.close()


@pytest.fixture
def aliyun(settings: Any) -> Iterator[FakeProvider]:
    fake = _serve("aliyun", settings)
    yield fake
    fake.close()


@pytest.fixture
def tencent(settings: Any) -> Iterator[FakeProvider]:
    fake = _serve("tencent", settings)
    yield fake
    fake.close()


@pytest.fixture(autouse=True)
def unhurried_policy(db: Any) -> None:
    """Tests send far fewer messages than the default limits, but many tests run within one
    minute and share the cache's counters: lift the limits (the rate-limit tests set their own)."""
    from kefu.messaging.models import MessagingPolicy

    MessagingPolicy.objects.update(per_second=100_000, per_minute=1_000_000)


@pytest.fixture(autouse=True)
def sms_outbox(settings: Any, tmp_path: Any) -> Any:
    """The default log backend writes into the test's own folder."""
    settings.SMS_BACKEND = "log"
    settings.SMS_OUTBOX_DIR = tmp_path / "sms"
    return settings.SMS_OUTBOX_DIR


class RecordingBackend:
    """Counts what would reach a provider; `fail_after` makes the process 'crash' after that many."""

    name = "recording"
    batch_size = 1

    def __init__(self) -> None:
        self.phones: list[str] = []
        self.fail_after: int | None = None

    def __call__(self) -> RecordingBackend:
        return self

    def send(self, messages: Any) -> list[Any]:
        from kefu.messaging.backends import SendResult

        if self.fail_after is not None and len(self.phones) >= self.fail_after:
            raise RuntimeError("worker killed")
        self.phones.extend(m.phone for m in messages)
        return [SendResult(ok=True, provider_id=f"id{len(self.phones)}") for _m in messages]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> RecordingBackend:
    backend = RecordingBackend()
    monkeypatch.setattr("kefu.messaging.backends.sms_backend", backend)
    return backend


@pytest.fixture
def notice_template(users: dict[str, User]) -> MessageTemplate:
    return services.template_save(
        actor=users["manager"],
        data={
            "name": "取药提醒",
            "channel": "sms",
            "purpose": "notice",
            "provider_code": "SMS_100",
            "signature": "康宁大药房",
            "body": "尊敬的${name}，您预订的${item}已到店，请凭会员卡领取。",
        },
    )


@pytest.fixture
def promo_template(users: dict[str, User]) -> MessageTemplate:
    return services.template_save(
        actor=users["manager"],
        data={
            "name": "店庆促销",
            "channel": "sms",
            "purpose": "marketing",
            "provider_code": "SMS_200",
            "signature": "康宁大药房",
            "body": "尊敬的${name}，店庆全场八折。拒收请回复R",
        },
    )


@pytest.fixture
def member(users: dict[str, User]) -> Customer:
    return make_customer(
        actor=users["manager"],
        name="王秀英",
        kind="person",
        phone="13912345678",
        department=users["agent"].department,
    )


def make_members(
    actor: User, count: int, *, first: int = 0, vip: bool = False, **extra: Any
) -> list[Customer]:
    """Members with mobiles 1370000xxxx; `vip` makes them tier A (brand-promotion value)."""
    if vip:
        extra.update(is_vip=True, brand_value=True)
    return [
        make_customer(actor=actor, name=f"会员{i:03d}", kind="person", phone=f"1370000{i:04d}", **extra)
        for i in range(first, first + count)
    ]
