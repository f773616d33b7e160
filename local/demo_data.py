"""Deterministic demo observations (seed 003's sample RDO shape) and their JPEG screenshots.

The same ``seed`` always gives the same documents and images, so the local stack looks the
same on every machine and every start. About 2% of the media keys are deliberately never
uploaded, so an export shows how a missing image is reported.
"""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from local.observations import has_observations, insert_observations

DEMO_COUNT = 600
DEMO_SEED = 3
OBSERVER_COUNT = 24
PLATFORMS = ("FACEBOOK", "INSTAGRAM", "TIKTOK", "YOUTUBE")
AD_FORMATS = {
    "FACEBOOK": ("FEED_BASED", "REEL_BASED", "STORY_BASED"),
    "INSTAGRAM": ("FEED_BASED", "REEL_BASED", "STORY_BASED"),
    "TIKTOK": ("REEL_BASED",),
    "YOUTUBE": ("FEED_BASED", "REEL_BASED", "PRE_ROLL"),
}
DEVICES = (
    ("Pixel 8a (akita)", "akita", 35, "1080", "2400"),
    ("Pixel 7 (panther)", "panther", 34, "1080", "2400"),
    ("Galaxy S23 (dm1q)", "dm1q", 34, "1080", "2340"),
    ("Galaxy A54 (a54x)", "a54x", 34, "1080", "2340"),
    ("moto g84 (bangkk)", "bangkk", 33, "1080", "2400"),
    ("Redmi Note 12 (tapas)", "tapas", 33, "1080", "2400"),
)
AD_TEXTS = (
    "Sponsored",
    "Install now",
    "Shop now",
    "Learn more",
    "Limited offer",
    "Free delivery",
    "POV: What would you tell",
    "your 20 year old self?",
    "Sign up today",
    "50% off this week",
    "New collection",
    "Book your trip",
)
TAGS = ("finance", "gambling", "health", "politics", "retail", "travel", "gaming", "education", "food", "crypto")
LABELS = ("commercial", "political", "scam", "health_claim", "gambling", "other")
RESEARCHERS = ("alice", "bob", "carol")
FIRST_DAY = datetime(2025, 1, 1, tzinfo=UTC)
LAST_DAY = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
MISSING_ONE_IN = 50  # ~2% of the media keys are never uploaded


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _observer(rng: random.Random) -> dict[str, Any]:
    model, code, api_level, width, height = rng.choice(DEVICES)
    dimensions = {"w": width, "h": height}
    return {
        "uuid": _uuid4(rng),
        "demographic_characteristics": None,
        "joined_at": round(FIRST_DAY.timestamp() - rng.uniform(0, 90 * 86400), 3),
        "device_dimensions": dict(dimensions),
        "device": {
            "dimensions": dimensions,
            "os_version": f"5.15.{rng.randint(100, 180)}-android{api_level - 21}-11-g{rng.getrandbits(28):07x}",
            "api_level": api_level,
            "device": code,
            "model": model,
        },
    }


def _ocr_box(rng: random.Random) -> dict[str, Any]:
    return {
        "x": rng.randint(0, 900),
        "y": rng.randint(0, 2200),
        "w": rng.randint(30, 700),
        "h": rng.randint(25, 90),
        "text": rng.choice(AD_TEXTS),
        "confidence": round(rng.uniform(0.4, 1.0), 6),
    }


def _keyframe(rng: random.Random, key: str, observed_at: int, y_offset: int) -> dict[str, Any]:
    return {
        "observed_at": observed_at - rng.randint(1, 10),
        "y_offset": y_offset,
        "screenshot_cropped": key,
        "frame": key,
        "ocr_data": [_ocr_box(rng) for _ in range(rng.randint(2, 6))],
    }


def _observation_document(rng: random.Random, observer: dict[str, Any]) -> dict[str, Any]:
    observed_at = rng.randint(int(FIRST_DAY.timestamp()), int(LAST_DAY.timestamp()))
    platform = rng.choice(PLATFORMS)
    capture = _uuid4(rng)
    keys = [f"{observer['uuid']}/temp-v2/{capture}/{frame}.jpg" for frame in sorted(rng.sample(range(0, 960, 30), 3))]
    keys = keys[: rng.randint(1, 3)]
    starred = rng.random() < 0.2
    return {
        "version": 2.0,
        "is_user_disabled": False,
        "observer": observer,
        "observation": {
            "uuid": f"{observed_at * 1000}.{_uuid4(rng)}",
            "observed_on_device_at": observed_at,
            "observed_on_device_at_decimal": float(observed_at),
            "submitted_from_device_at": observed_at + rng.randint(60, 3600),
            "platform": platform,
            "ad_format": rng.choice(AD_FORMATS[platform]),
            "exposure": "unknown",
            "ad_dimensions": dict(observer["device"]["dimensions"]),
            "keyframes": [_keyframe(rng, key, observed_at, n * 800) for n, key in enumerate(keys)],
        },
        "media": keys,
        "attributes": {
            "starred": {
                "value": starred,
                "updated_at": observed_at + rng.randint(3600, 30 * 86400),
                "updated_by": rng.choice(RESEARCHERS),
            }
        },
        "tags": sorted(rng.sample(TAGS, rng.randint(1, 3))),
        "classifications": [
            {"label": label, "score": round(rng.uniform(0.05, 0.99), 4)}
            for label in rng.sample(LABELS, rng.randint(1, 3))
        ],
    }


def build_observations(count: int = DEMO_COUNT, seed: int = DEMO_SEED) -> list[dict[str, Any]]:
    """``count`` observation documents from ``OBSERVER_COUNT`` observers; same seed, same documents."""
    rng = random.Random(seed)
    observers = [_observer(rng) for _ in range(OBSERVER_COUNT)]
    return [_observation_document(rng, observers[n % OBSERVER_COUNT]) for n in range(count)]


def seed_observations_if_empty(conn: Any, docs: Sequence[dict[str, Any]]) -> int:
    return 0 if has_observations(conn) else insert_observations(conn, docs)


def is_missing(key: str) -> bool:
    """Whether the demo deliberately leaves this media key out of the source bucket."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % MISSING_ONE_IN == 0


def jpeg_bytes(seed: int | str, label: str = "AD") -> bytes:
    """A small real JPEG (a few KB): a coloured "ad" with a banner, its colour chosen by ``seed``."""
    from PIL import Image, ImageDraw  # a development dependency

    rng = random.Random(str(seed))
    colour = (rng.randint(30, 230), rng.randint(30, 230), rng.randint(30, 230))
    image = Image.new("RGB", (120, 240), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 150, 110, 190), fill=(255 - colour[0], 255 - colour[1], 255 - colour[2]))
    draw.text((14, 20), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


def media_keys(docs: Iterable[dict[str, Any]], *, skip_missing: bool = True) -> list[str]:
    keys = [key for doc in docs for key in doc.get("media") or []]
    return [key for key in keys if not (skip_missing and is_missing(key))]


def upload_images(s3_client: Any, bucket: str, docs: Iterable[dict[str, Any]], *, skip_missing: bool = True) -> int:
    """Upload a JPEG at every media key (except the deliberately missing ones); returns how many."""
    keys = media_keys(docs, skip_missing=skip_missing)

    def put(key: str) -> None:
        ad, frame = key.rsplit("/", 1)  # one colour per ad, its frame number written on it
        body = jpeg_bytes(ad, label=frame.removesuffix(".jpg"))
        s3_client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/jpeg")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, keys))
    return len(keys)
