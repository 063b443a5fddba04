"""Predictions as an HL7 FHIR ``DiagnosticReport`` with one contained ``Observation`` per input
(predicted class, each class's probability, the input's reference) and a contained ``Device`` (the
model: record, artifact format, sha256), validated with ``fhir.resources``.

fhir.resources 8.x ships FHIR R5 (top level), R4B (``fhir.resources.R4B``, FHIR 4.3.0) and STU3;
there is no plain R4 module. R4B is R4's technical-correction release: DiagnosticReport, Observation
and Device used here have the same elements in R4 (4.0.1) and R4B, so the output is valid R4
JSON and is validated against R4B. Usable offline: ``diagnostic_report(manifest, probs, refs)``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np

FHIR_VERSION = "4.3.0 (R4B; the elements used are unchanged from R4 4.0.1)"
CLASS_SYSTEM = "urn:oncobench:class"
UCUM = "http://unitsofmeasure.org"


def _reference(ref: str) -> dict[str, Any]:
    """An input reference: a DICOM SOP Instance UID as urn:oid, else the request id and row."""
    if ref and ref.replace(".", "").isdigit():
        return {
            "identifier": {"system": "urn:dicom:uid", "value": f"urn:oid:{ref}"},
            "display": f"DICOM SOP Instance {ref}",
        }
    return {"identifier": {"system": "urn:oncobench:request", "value": ref or "unknown"}, "display": ref}


def diagnostic_report(
    manifest: dict[str, Any], probs: np.ndarray, refs: list[str], issued: datetime | None = None
) -> dict[str, Any]:
    """The FHIR R4 DiagnosticReport (as JSON) of ``probs`` (n, classes) for inputs ``refs``,
    identified by the artifact ``manifest``; validated (raises pydantic's ValidationError)."""
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport

    rec, art = manifest["record"], manifest["artifact"]
    classes = [str(c) for c in manifest["class_names"]]
    when = (issued or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    model = f"oncobench {rec['model']} on {rec['dataset']} (seed {rec['seed']})"
    device = {
        "resourceType": "Device",
        "id": "model",
        "deviceName": [{"name": model, "type": "model-name"}],
        "version": [
            {"value": f"{art['format']} sha256:{art['sha256']}"},
            {"value": f"record {rec.get('key')} run {rec.get('run_id')}"},
        ],
        "note": [{"text": f"{manifest.get('not_for', '')}"}],
    }
    observations, lines = [], []
    for i, (p, ref) in enumerate(zip(np.asarray(probs, dtype=np.float64), refs)):
        k = int(np.argmax(p))
        observations.append(
            {
                "resourceType": "Observation",
                "id": f"prediction-{i}",
                "status": "preliminary",
                "code": {"text": f"predicted class ({model})"},
                "valueCodeableConcept": {
                    "coding": [{"system": CLASS_SYSTEM, "code": classes[k], "display": classes[k]}],
                    "text": classes[k],
                },
                "component": [
                    {
                        "code": {
                            "coding": [{"system": CLASS_SYSTEM, "code": c}],
                            "text": f"probability of {c}",
                        },
                        "valueQuantity": {
                            "value": round(float(q), 6),
                            "unit": "probability",
                            "system": UCUM,
                            "code": "1",
                        },
                    }
                    for c, q in zip(classes, p)
                ],
                "derivedFrom": [_reference(ref)],
                "device": {"reference": "#model"},
                "effectiveDateTime": when,
            }
        )
        lines.append(f"{ref}: {classes[k]} (p={float(p[k]):.3f})")
    doc = {
        "resourceType": "DiagnosticReport",
        "status": "preliminary",
        "code": {"text": f"model prediction: {model}"},
        "issued": when,
        "contained": [device, *observations],
        "result": [{"reference": f"#{o['id']}"} for o in observations],
        "conclusion": ("; ".join(lines) + ". Research use only: " + str(manifest.get("not_for", "")))[:4000],
    }
    return DiagnosticReport.model_validate(doc).model_dump(mode="json", exclude_none=True)
