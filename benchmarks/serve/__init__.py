"""Serve exported artifacts (``benchmarks.deploy``) on the Open Inference Protocol (KServe v2) REST,
measure them under load, take DICOM in and give FHIR R4 out (issue 31).

Modules: ``models`` (an artifact folder as a served model on onnxruntime or TensorFlow),
``protocol`` (v2 requests checked into arrays; every refusal a 4xx with one line), ``fhir``
(DiagnosticReport + Observations, validated with ``fhir.resources``), ``app`` (the FastAPI app,
run by uvicorn), ``loadtest`` (locust, headless, at fixed concurrency and target rates) and
``locustfile`` (the locust user).

Endpoints (v2 REST; ``{name}``: the artifact folder's name, e.g. ``cnn-breastmnist-s0``)::

    GET  /v2/health/live, /v2/health/ready, /v2, /v2/models/{name}[/versions/{v}][/ready]
    POST /v2/models/{name}[/versions/{v}]/infer     JSON body (binary tensor extension: not served)
    POST /v2/models/{name}/fhir                     same body -> FHIR R4 DiagnosticReport (extension)

Inputs: one tensor, either ``raw`` (the artifact's raw input: datatype and shape from the
manifest, batch first) or, for image models, ``dicom`` (datatype BYTES, one base64-encoded DICOM
file per element, as MLServer's base64 codec sends bytes in JSON), decoded by
``datasets.custom.dicom`` and resized to the model's input.
"""

from __future__ import annotations

MAX_BODY_BYTES = 16 * 1024 * 1024  # default request body limit (--max-body-mb)
MAX_BATCH = 256  # default largest batch in one request (--max-batch)
