"""Where messages leave Kefu: SMS providers in the shape Chinese providers require, and email.

An SMS is never free text: the provider has approved a template (模板, by code) under a
signature (签名, 【某某药房】), and each send gives the numbers and the template's parameters.
Backends are chosen by KEFU_SMS_BACKEND (see README.md, "Settings"):

- `log` (default): writes one JSON line per message to <data dir>/sms/outbox-YYYYMMDD.jsonl and logs it;
- `aliyun`: dysmsapi SendSms / SendBatchSms, signed with the Aliyun RPC signature (HMAC-SHA1);
- `tencent`: Tencent Cloud SMS SendSms (API 2021-01-11), signed with TC3-HMAC-SHA256.

The endpoints are settings too, so the tests run each backend against a fake provider on
loopback; no test touches the network. Plain urllib: the two calls need nothing more.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import smtplib
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sms:
    phone: str  # 11-digit mainland mobile
    signature: str
    template_code: str
    params: dict[str, str]
    param_order: tuple[str, ...] = ()  # Tencent takes the parameters as an ordered list
    text: str = ""  # the rendered text, for the log backend and the send log


@dataclass
class SendResult:
    ok: bool
    provider_id: str = ""
    error: str = ""
    # A failure that may pass (timeout, connection refused, 5xx, flow control): worth trying again.
    transient: bool = False


@dataclass
class Email:
    address: str
    subject: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


class SmsBackend:
    name = "base"
    batch_size = 1

    def send(self, messages: Sequence[Sms]) -> list[SendResult]:
        """One result per message, in order. Never raises for a provider's answer."""
        raise NotImplementedError


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        # The URL is the configured provider endpoint (KEFU_SMS_ENDPOINT), never user input.
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read() or b"{}")
        except ValueError:
            payload = {}
        return exc.code, payload


def _transport_failure(exc: Exception) -> SendResult:
    if isinstance(exc, TimeoutError | socket.timeout):
        message = "timeout"
    else:
        message = str(getattr(exc, "reason", exc))
    return SendResult(ok=False, error=f"network: {message}"[:300], transient=True)


class LogSmsBackend(SmsBackend):
    """Nothing leaves the machine: each message becomes a JSON line in the data dir (and a log line)."""

    name = "log"
    batch_size = 100

    def send(self, messages: Sequence[Sms]) -> list[SendResult]:
        folder = Path(settings.SMS_OUTBOX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"outbox-{timezone.localdate():%Y%m%d}.jsonl"
        results = []
        with target.open("a", encoding="utf-8") as handle:
            for sms in messages:
                message_id = uuid.uuid4().hex
                line = {
                    "id": message_id,
                    "at": timezone.now().isoformat(),
                    "phone": sms.phone,
                    "signature": sms.signature,
                    "template_code": sms.template_code,
                    "params": sms.params,
                    "text": sms.text,
                }
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                log.info("sms to %s: 【%s】%s", sms.phone, sms.signature, sms.text)
                results.append(SendResult(ok=True, provider_id=message_id))
        return results


# --- Aliyun dysmsapi ------------------------------------------------------------------------------


def aliyun_percent_encode(value: str) -> str:
    """RFC 3986 as Aliyun's POP signature wants it: only A-Z a-z 0-9 - _ . ~ stay as they are."""
    return urllib.parse.quote(str(value), safe="~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(
        f"{aliyun_percent_encode(key)}={aliyun_percent_encode(params[key])}" for key in sorted(params)
    )
    to_sign = f"{method}&{aliyun_percent_encode('/')}&{aliyun_percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# Aliyun's flow control and its own trouble pass; a bad number or an unapproved template do not.
ALIYUN_TRANSIENT = {
    "isv.BUSINESS_LIMIT_CONTROL",
    "isp.RAM_PERMISSION_DENY",
    "isp.SYSTEM_ERROR",
    "Throttling.User",
}


class AliyunSmsBackend(SmsBackend):
    name = "aliyun"
    batch_size = 100  # SendBatchSms takes up to 100 numbers, each with its own signature and parameters

    def __init__(self) -> None:
        self.endpoint = settings.SMS_ENDPOINT or "https://dysmsapi.aliyuncs.com/"
        self.key_id = settings.SMS_KEY_ID
        self.secret = settings.SMS_KEY_SECRET
        self.region = settings.SMS_REGION or "cn-hangzhou"
        self.timeout = settings.SMS_TIMEOUT

    def _call(self, action: str, extra: dict[str, str]) -> tuple[int, dict[str, Any]]:
        params = {
            "AccessKeyId": self.key_id,
            "Action": action,
            "Format": "JSON",
            "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
            **extra,
        }
        params["Signature"] = aliyun_signature(params, self.secret, "POST")
        body = urllib.parse.urlencode(params).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return _post(self.endpoint, body, headers, self.timeout)

    def send(self, messages: Sequence[Sms]) -> list[SendResult]:
        if not messages:
            return []
        if len(messages) == 1:
            sms = messages[0]
            extra = {
                "PhoneNumbers": sms.phone,
                "SignName": sms.signature,
                "TemplateCode": sms.template_code,
                "TemplateParam": json.dumps(sms.params, ensure_ascii=False),
            }
            action = "SendSms"
        else:
            codes = {sms.template_code for sms in messages}
            if len(codes) > 1:  # one template per batch call; split by template
                results: list[SendResult] = []
                for sms in messages:
                    results.extend(self.send([sms]))
                return results
            extra = {
                "PhoneNumberJson": json.dumps([sms.phone for sms in messages]),
                "SignNameJson": json.dumps([sms.signature for sms in messages], ensure_ascii=False),
                "TemplateCode": messages[0].template_code,
                "TemplateParamJson": json.dumps([sms.params for sms in messages], ensure_ascii=False),
            }
            action = "SendBatchSms"
        try:
            status, payload = self._call(action, extra)
        except (OSError, urllib.error.URLError) as exc:
            return [_transport_failure(exc)] * len(messages)
        code = str(payload.get("Code", ""))
        if status == 200 and code == "OK":
            return [SendResult(ok=True, provider_id=str(payload.get("BizId", "")))] * len(messages)
        message = f"{code or status}: {payload.get('Message', '')}"[:300]
        transient = status >= 500 or code in ALIYUN_TRANSIENT
        return [SendResult(ok=False, error=message, transient=transient)] * len(messages)


# --- Tencent Cloud SMS ------------------------------------------------------------------------------


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    host: str,
    action: str,
    payload: bytes,
    timestamp: int,
    service: str = "sms",
) -> str:
    """The TC3-HMAC-SHA256 Authorization header of a POST with a JSON body."""
    day = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    canonical_headers = (
        f"content-type:application/json; charset=utf-8\nhost:{host}\nx-tc-action:{action.lower()}\n"
    )
    signed_headers = "content-type;host;x-tc-action"
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, signed_headers, hashlib.sha256(payload).hexdigest()]
    )
    scope = f"{day}/{service}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )

    def _hmac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    signing = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), day), service), "tc3_request")
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


TENCENT_TRANSIENT_PREFIXES = ("InternalError", "RequestLimitExceeded", "LimitExceeded", "ResourceUnavailable")


class TencentSmsBackend(SmsBackend):
    name = "tencent"
    batch_size = 200  # numbers per SendSms; one call carries one parameter list, so batches group by it

    def __init__(self) -> None:
        self.endpoint = settings.SMS_ENDPOINT or "https://sms.tencentcloudapi.com/"
        self.secret_id = settings.SMS_KEY_ID
        self.secret_key = settings.SMS_KEY_SECRET
        self.region = settings.SMS_REGION or "ap-guangzhou"
        self.app_id = settings.SMS_APP_ID
        self.timeout = settings.SMS_TIMEOUT

    def _send_group(self, group: list[Sms]) -> list[SendResult]:
        first = group[0]
        order = first.param_order or tuple(first.params)
        body = json.dumps(
            {
                "PhoneNumberSet": [f"+86{sms.phone}" for sms in group],
                "SmsSdkAppId": self.app_id,
                "SignName": first.signature,
                "TemplateId": first.template_code,
                "TemplateParamSet": [str(first.params.get(name, "")) for name in order],
            },
            ensure_ascii=False,
        ).encode()
        host = urllib.parse.urlsplit(self.endpoint).netloc
        timestamp = int(timezone.now().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": self.region,
            "Authorization": tc3_authorization(
                secret_id=self.secret_id,
                secret_key=self.secret_key,
                host=host,
                action="SendSms",
                payload=body,
                timestamp=timestamp,
            ),
        }
        try:
            status, payload = _post(self.endpoint, body, headers, self.timeout)
        except (OSError, urllib.error.URLError) as exc:
            return [_transport_failure(exc)] * len(group)
        response = payload.get("Response") or {}
        error = response.get("Error")
        if status != 200 or error:
            code = str((error or {}).get("Code", status))
            message = f"{code}: {(error or {}).get('Message', '')}"[:300]
            transient = status >= 500 or code.startswith(TENCENT_TRANSIENT_PREFIXES)
            return [SendResult(ok=False, error=message, transient=transient)] * len(group)
        by_phone = {str(row.get("PhoneNumber", "")): row for row in response.get("SendStatusSet") or []}
        results = []
        for sms in group:
            row = by_phone.get(f"+86{sms.phone}") or {}
            code = str(row.get("Code", ""))
            if code == "Ok":
                results.append(SendResult(ok=True, provider_id=str(row.get("SerialNo", ""))))
            else:
                message = f"{code or 'missing'}: {row.get('Message', '')}"[:300]
                results.append(
                    SendResult(ok=False, error=message, transient=code.startswith(TENCENT_TRANSIENT_PREFIXES))
                )
        return results

    def send(self, messages: Sequence[Sms]) -> list[SendResult]:
        groups: dict[tuple[Any, ...], list[int]] = {}
        for index, sms in enumerate(messages):
            order = sms.param_order or tuple(sms.params)
            key = (sms.signature, sms.template_code, tuple(str(sms.params.get(n, "")) for n in order))
            groups.setdefault(key, []).append(index)
        results: list[SendResult | None] = [None] * len(messages)
        for indexes in groups.values():
            for start in range(0, len(indexes), self.batch_size):
                chunk = indexes[start : start + self.batch_size]
                for index, result in zip(chunk, self._send_group([messages[i] for i in chunk]), strict=True):
                    results[index] = result
        return [result or SendResult(ok=False, error="not sent") for result in results]


BACKENDS: dict[str, type[SmsBackend]] = {
    "log": LogSmsBackend,
    "aliyun": AliyunSmsBackend,
    "tencent": TencentSmsBackend,
}


def sms_backend() -> SmsBackend:
    """The configured backend, built afresh so a changed setting takes effect (and tests can swap it)."""
    return BACKENDS.get(settings.SMS_BACKEND, LogSmsBackend)()


# --- email -----------------------------------------------------------------------------------------

PERMANENT_MAIL_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)


def send_email(email: Email) -> SendResult:
    """Through Django's mail backend (SMTP by default, see KEFU_EMAIL_*)."""
    message = EmailMessage(
        subject=email.subject,
        body=email.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.address],
        headers=email.headers,
    )
    try:
        message.send()
    except PERMANENT_MAIL_ERRORS as exc:
        return SendResult(ok=False, error=f"refused: {exc}"[:300])
    except OSError as exc:  # smtplib's errors, refused connections and timeouts
        return SendResult(ok=False, error=f"mail: {exc}"[:300], transient=True)
    return SendResult(ok=True, provider_id=email.headers.get("Message-ID", ""))
