-- The initial catalogue of exportable fields, from the sample RDO of seed 003.
-- `path` is a dot path into the observation document; a path that crosses a list
-- collects the values of every element (e.g. the OCR text of every keyframe).

INSERT INTO exportable_fields (position, name, description, path, is_default) VALUES
    (1,  'Observer UUID', 'Unique identifier for the observer who submitted the ad', 'observer.uuid', true),
    (2,  'Observer Device Model', 'Model of the device used by the observer', 'observer.device.model', true),
    (3,  'Observer Device Dimensions', 'Screen width and height of the observer''s device, in pixels', 'observer.device.dimensions', false),
    (4,  'Observer OS Version', 'Operating system version of the observer''s device', 'observer.device.os_version', false),
    (5,  'Observer API Level', 'Android API level of the observer''s device', 'observer.device.api_level', false),
    (6,  'Observer Device', 'Device code name of the observer''s device', 'observer.device.device', false),
    (7,  'Observation UUID', 'Unique identifier of the ad observation', 'observation.uuid', true),
    (8,  'Platform', 'Platform the ad was observed on (e.g. FACEBOOK, INSTAGRAM)', 'observation.platform', true),
    (9,  'Ad Format', 'Format of the ad (e.g. FEED_BASED, REEL_BASED)', 'observation.ad_format', true),
    (10, 'Observed On Device At', 'Unix time (seconds) at which the ad was observed on the device', 'observation.observed_on_device_at', true),
    (11, 'Keyframes', 'Keyframes captured from the ad, with their screenshots and OCR data', 'observation.keyframes', false),
    (12, 'OCR Data', 'Text boxes read by OCR from every keyframe: x, y, w, h, text and confidence', 'observation.keyframes.ocr_data', false),
    (13, 'OCR Text', 'Text extracted from the ad images using OCR', 'observation.keyframes.ocr_data.text', false),
    (14, 'OCR Confidence', 'Confidence of each OCR text box, between 0 and 1', 'observation.keyframes.ocr_data.confidence', false),
    (15, 'Attributes', 'Attributes researchers set on the ad (e.g. starred)', 'attributes', false),
    (16, 'Starred', 'Whether a researcher starred the ad', 'attributes.starred.value', false),
    (17, 'Tags', 'Tags researchers applied to the ad', 'tags', false),
    (18, 'Classifications', 'Classifications of the ad (label and score)', 'classifications', false),
    (19, 'Media', 'Keys of the ad''s media files in the source bucket', 'media', false);
