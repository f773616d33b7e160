"""Field paths pick the right values out of an observation, and unknown paths are named."""

from __future__ import annotations

import pytest

from exporter.errors import UnknownField
from exporter.exports.fields import extract, project, resolve_fields
from exporter.exports.model import FieldInfo

DOCUMENT = {
    "observer": {"uuid": "obs-1", "device": {"model": "Pixel 8a", "dimensions": {"w": "1080", "h": "2400"}}},
    "observation": {
        "uuid": "1759583019000.abc",
        "keyframes": [
            {"ocr_data": [{"text": "Raiz", "confidence": 0.99}, {"text": "Sponsored", "confidence": 0.5}]},
            {"ocr_data": [{"text": "Install now", "confidence": 0.95}]},
            {"y_offset": 3},
        ],
    },
    "attributes": {"starred": {"value": True}},
    "tags": ["finance"],
}
CATALOGUE = [
    FieldInfo(name="Observer UUID", description="", path="observer.uuid", is_default=True),
    FieldInfo(name="OCR Text", description="", path="observation.keyframes.ocr_data.text", is_default=False),
    FieldInfo(name="Tags", description="", path="tags", is_default=False),
    FieldInfo(name="Platform", description="", path="observation.platform", is_default=True),
]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("observer.uuid", "obs-1"),
        ("observer.device.dimensions", {"w": "1080", "h": "2400"}),
        ("observation.keyframes.ocr_data.text", ["Raiz", "Sponsored", "Install now"]),
        ("observation.keyframes.ocr_data.confidence", [0.99, 0.5, 0.95]),
        ("attributes.starred.value", True),
        ("tags", ["finance"]),
        ("classifications", None),
        ("observer.uuid.deeper", None),
    ],
)
def test_extract_follows_dot_paths_and_collects_across_lists(path: str, expected: object) -> None:
    assert extract(DOCUMENT, path) == expected


def test_project_keeps_request_order() -> None:
    assert list(project(DOCUMENT, ["tags", "observer.uuid"])) == ["tags", "observer.uuid"]


def test_omitted_fields_mean_the_defaults_in_catalogue_order() -> None:
    assert resolve_fields(None, CATALOGUE) == ["observer.uuid", "observation.platform"]


def test_unknown_field_message_lists_every_valid_path() -> None:
    with pytest.raises(UnknownField) as caught:
        resolve_fields(["observer.uuid", "ocr.text"], CATALOGUE)
    message = str(caught.value)
    assert "unknown field(s): ocr.text" in message
    assert "observation.keyframes.ocr_data.text" in message and "tags" in message


def test_empty_and_repeated_field_lists_are_rejected() -> None:
    with pytest.raises(UnknownField, match="must not be empty"):
        resolve_fields([], CATALOGUE)
    with pytest.raises(UnknownField, match="requested twice: tags"):
        resolve_fields(["tags", "observer.uuid", "tags"], CATALOGUE)
