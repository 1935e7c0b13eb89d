"""The sandbox clearinghouse: real-time 276→277 and 270→271, and 837P batches, over one JSON envelope.

The envelope borrows the CAQH CORE connectivity field names (PayloadType, ProcessingMode, PayloadID,
TimeStamp, SenderID, ReceiverID, CORERuleVersion, Payload, ErrorCode, ErrorMessage) in snake_case,
carried as JSON instead of MIME multipart or SOAP. Every call needs the header `X-API-Key`.

    POST /core/realtime   {"payload_type": "X12_276_Request_005010X212" | "X12_270_Request_005010X279A1",
                           "processing_mode": "RealTime", "payload_id": "...", "sender_id": "...",
                           "receiver_id": "...", "payload": "<X12>"}
        200 {"payload_type": "X12_277_Response_005010X212" | "X12_271_Response_005010X279A1",
             "payload": "<X12>", "error_code": "Success", "error_message": null, ...}
    POST /core/batch      same envelope with "X12_837_Request_005010X222A1" and "processing_mode": "Batch"
        202 the batch status below
    GET  /core/batch/{submission_id}          {"submission_id", "files": [{"kind", "payload_type", "url"}],
                                               "pending": ["277CA", "835"], "claims", "accepted", "rejected"}
    GET  /core/batch/{submission_id}/{kind}   the X12 text of "999", "277CA" or "835"

Errors keep the envelope shape: 401 `Unauthorized`, 400 `InvalidEnvelope` / `PayloadTypeNotSupported` /
`InvalidPayload`, 404 `NotFound` / `NotReady`, 429 `RateLimited`, and 500/503 when a fault is injected.
"""

from sandbox.clearinghouse.app import create_app

__all__ = ["create_app"]
