"""Realistic NEF event-exposure messages carrying subscriber identities (seed 000's traffic).

Shapes follow 3GPP TS 29.522 / 29.518 monitoring event reports as an Open-Exposure NEF
broadcasts them on ``broadcast:<event>`` channels: location reporting, UE reachability, loss
of connectivity, PDU session status, roaming status, communication failure, number of UEs in
an area. Each carries the subscriber's SUPI (``imsi-…``), GPSI (``msisdn-…``), PEI
(``imei-…``/``imeisv-…``) and IP addresses, some of them inside other strings (callback URIs,
subscription ids), which is what the capture's masking has to find.

Used by the local stack's demo publisher, the capture tests and ``make bench-capture``.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CHANNEL_PREFIX = "broadcast:"
EVENTS = (
    "LOCATION_REPORTING",
    "UE_REACHABILITY",
    "LOSS_OF_CONNECTIVITY",
    "PDU_SESSION_STATUS",
    "ROAMING_STATUS",
    "COMMUNICATION_FAILURE",
    "NUMBER_OF_UES_IN_AN_AREA",
)


@dataclass(frozen=True)
class Subscriber:
    """One UE's identities; ``raw()`` lists every form in which they can appear in a message."""

    imsi: str  # 15 digits
    msisdn: str  # E.164 digits
    imei: str  # 15 digits
    imeisv: str  # 16 digits
    ipv4: str
    ipv6: str

    @property
    def supi(self) -> str:
        return f"imsi-{self.imsi}"

    @property
    def gpsi(self) -> str:
        return f"msisdn-{self.msisdn}"

    def raw(self) -> list[str]:
        return [self.imsi, self.msisdn, self.imei, self.imeisv, self.ipv4, self.ipv6]


def subscribers(count: int, *, seed: int = 7) -> list[Subscriber]:
    """``count`` distinct subscribers of a test PLMN (MCC 001, MNC 01), deterministic in ``seed``."""
    rng = random.Random(seed)
    result = []
    for n in range(count):
        msin = f"{rng.randrange(10**9):09d}{n % 10}"
        tac = f"{rng.randrange(10**8):08d}"
        serial = f"{rng.randrange(10**6):06d}"
        result.append(
            Subscriber(
                imsi=f"00101{msin}",
                msisdn=f"3361{rng.randrange(10**7):07d}",
                imei=f"{tac}{serial}{rng.randrange(10)}",
                imeisv=f"{tac}{serial}{rng.randrange(100):02d}",
                ipv4=f"10.{45 + n // 64516 % 200}.{n // 254 % 254 + 1}.{n % 254 + 1}",
                ipv6=f"2001:db8:{n // 65536 % 65536:x}:{n % 65536:x}::{rng.randrange(1, 65536):x}",
            )
        )
    return result


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _location(rng: random.Random) -> dict[str, Any]:
    return {
        "nrLocation": {
            "tai": {"plmnId": {"mcc": "001", "mnc": "01"}, "tac": f"{rng.randrange(1, 0xFFFFFF):06x}"},
            "ncgi": {"plmnId": {"mcc": "001", "mnc": "01"}, "nrCellId": f"{rng.randrange(1, 2**36):09x}"},
            "ueLocationTimestamp": _now_text(),
        }
    }


def event(kind: str, ue: Subscriber, rng: random.Random, *, sequence: int = 0) -> dict[str, Any]:
    """One monitoring event report of ``kind`` about ``ue``."""
    subscription = f"sub-{ue.supi}-{sequence % 97:02d}"
    base: dict[str, Any] = {
        "event": kind,
        "supi": ue.supi,
        "gpsi": ue.gpsi,
        "timeStamp": _now_text(),
        "sequence": sequence,
        "subscriptionId": subscription,
        "notifUri": f"http://{ue.ipv4}:8080/callbacks/{subscription}",
        "afId": "af-demo",
    }
    if kind == "LOCATION_REPORTING":
        base.update(
            pei=f"imeisv-{ue.imeisv}",
            locationInfo=_location(rng),
            ueIpv4Addr=ue.ipv4,
            ueIpv6Addr=ue.ipv6,
        )
    elif kind == "UE_REACHABILITY":
        base.update(
            reachabilityType=rng.choice(["SMS", "DATA"]), maxAvailabilityTime=_now_text(), pei=f"imei-{ue.imei}"
        )
    elif kind == "LOSS_OF_CONNECTIVITY":
        base.update(lossOfConnectReason=rng.choice(["DEREGISTERED", "MAX_DETECTION_TIME_EXPIRED", "PURGED"]))
    elif kind == "PDU_SESSION_STATUS":
        base.update(
            pduSessionId=rng.randrange(1, 16),
            pduSessStatus=rng.choice(["ACTIVATED", "DEACTIVATED"]),
            dnn="internet",
            ueIpv4Addr=ue.ipv4,
            ueIpv6Prefix=f"{ue.ipv6}/128",
            description=f"session of {ue.imsi} at {ue.ipv6}",
        )
    elif kind == "ROAMING_STATUS":
        base.update(roamingInd=rng.choice([True, False]), plmnId={"mcc": "208", "mnc": "93"}, msisdn=f"+{ue.msisdn}")
    elif kind == "COMMUNICATION_FAILURE":
        base.update(
            commFailure={"nasReleaseCode": "NAS_RELEASE_CAUSE_5", "ranReleaseCode": {"ngApCause": {"group": 1}}},
            detail=f"UE imei-{ue.imei} dropped from {ue.ipv4}",
        )
    elif kind == "NUMBER_OF_UES_IN_AN_AREA":
        base.update(numberOfUes=rng.randrange(1, 500), locationArea=_location(rng), reportedBy=ue.supi)
    return base


def messages(ues: list[Subscriber], *, seed: int = 11) -> Iterator[tuple[str, str]]:
    """An endless stream of (channel, JSON text), every event kind in turn, random subscribers."""
    rng = random.Random(seed)
    sequence = 0
    while True:
        kind = EVENTS[sequence % len(EVENTS)]
        ue = rng.choice(ues)
        yield CHANNEL_PREFIX + kind.lower(), json.dumps(event(kind, ue, rng, sequence=sequence))
        sequence += 1


def publish_at_rate(
    publish: Callable[[str, str], object],
    ues: list[Subscriber],
    *,
    rate: float,
    seconds: float,
    seed: int = 11,
) -> int:
    """Publish at ``rate`` messages per second for ``seconds``; the number sent."""
    stream = messages(ues, seed=seed)
    interval = 1.0 / rate
    start = time.monotonic()
    sent = 0
    while True:
        due = start + sent * interval
        now = time.monotonic()
        if due - start >= seconds:
            return sent
        if due > now:
            time.sleep(due - now)
        channel, text = next(stream)
        publish(channel, text)
        sent += 1


def demo_marker() -> str:
    """A fresh id to tag a run's messages with (bench and tests)."""
    return uuid.uuid4().hex
