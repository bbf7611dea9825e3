"""The service's OpenAPI 3.1 document, served at /openapi.json."""

from __future__ import annotations

from typing import Any

_ERROR = {"description": "what is wrong, in the command line's words",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_JOB = {"description": "the job", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Job"}}}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_NDJSON = {"description": "NDJSON: one JSON object per line, each with its `cursor`",
           "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}
_PAGING = [
    _ID,
    {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0},
     "description": "the cursor of the last row already read (0: from the start)"},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 10000},
     "description": "rows at most (default 1000); ignored with follow"},
    {"name": "follow", "in": "query", "schema": {"type": "boolean"},
     "description": "stream rows as they are written until the job ends"},
    {"name": "last", "in": "query", "schema": {"type": "integer", "maximum": 10000},
     "description": "the last N rows instead, oldest first"},
    {"name": "errors", "in": "query", "schema": {"type": "boolean"},
     "description": "records: only those with an error"},
]


def _action(summary: str) -> dict[str, Any]:
    return {"post": {"summary": summary, "parameters": [_ID],
                     "responses": {"200": _JOB, "404": _ERROR, "409": _ERROR}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "crawler service", "version": "1",
             "description": "Submit, watch and cancel crawls. With --token, every endpoint "
                            "but /health, /metrics and the dashboard's page needs "
                            "`Authorization: Bearer TOKEN`."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"type": "string"}}},
            "JobRequest": {"type": "object", "required": ["seeds"], "properties": {
                "seeds": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "settings": {"type": "object", "description": "any crawl setting by name "
                             "(python -m crawler --help); extract takes the rules object"},
                "schedule": {"type": "string", "description": "cron expression, UTC"},
                "name": {"type": "string", "maxLength": 200,
                         "description": "what the client calls the job (the dashboard shows "
                                        "it)"}}},
            "Job": {"type": "object", "properties": {
                "id": {"type": "string"},
                "state": {"enum": ["queued", "running", "paused", "completed", "failed",
                                   "cancelled"]},
                "pages": {"type": "integer"}, "errors": {"type": "integer"},
                "queued": {"type": "integer"}, "in_flight": {"type": "integer"},
                "rate": {"type": "number", "description": "pages/s, last 10 s"},
                "started_at": {"type": ["string", "null"]},
                "finished_at": {"type": ["string", "null"]},
                "report": {"type": ["object", "null"],
                           "description": "the last run's report.json"},
                "name": {"type": ["string", "null"]},
                "seeds": {"type": "array", "items": {"type": "string"}},
                "settings": {"type": "object", "description": "every setting the client "
                             "gave (extract as the rules object), credentials redacted"}}},
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/health": {"get": {"summary": "the service is up", "security": [],
                            "responses": {"200": {"description": "ok"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics, a `job` label per job",
                             "responses": {"200": {"description": "text exposition"}}}},
        "/jobs": {
            "post": {"summary": "submit a job",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/JobRequest"}}}},
                     "responses": {"201": {"description": "{\"id\": ...}"}, "400": _ERROR,
                                   "401": _ERROR, "413": _ERROR, "415": _ERROR,
                                   "429": _ERROR}},
            "get": {"summary": "a page of jobs (each with its first 10 seeds and seeds_count)",
                    "parameters": [
                {"name": "state", "in": "query", "schema": {"type": "string"},
                 "description": "only jobs in this state (repeatable)"},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000},
                 "description": "jobs a page (default 100)"},
                {"name": "after", "in": "query", "schema": {"type": "string"},
                 "description": "the `next` of the page before"},
                {"name": "order", "in": "query", "schema": {"enum": ["oldest", "newest"]},
                 "description": "oldest first (default) or newest first"}],
                    "responses": {"200": {"description":
                                          "{\"jobs\": [Job, ...], \"next\": id or null}"},
                                  "400": _ERROR}},
        },
        "/jobs/{id}": {
            "get": {"summary": "one job", "parameters": [_ID],
                    "responses": {"200": _JOB, "404": _ERROR}},
            "delete": {"summary": "delete the job and its records (a running crawl is "
                                  "stopped first); 404 from then on", "parameters": [_ID],
                       "responses": {"204": {"description": "deleted"}, "404": _ERROR}},
        },
        "/jobs/{id}/records": {"get": {"summary": "the job's records", "parameters": _PAGING,
                                       "responses": {"200": _NDJSON, "404": _ERROR}}},
        "/jobs/{id}/items": {"get": {"summary": "the items extraction yielded",
                                     "parameters": _PAGING,
                                     "responses": {"200": _NDJSON, "404": _ERROR}}},
        "/jobs/{id}/pause": _action("stop the crawl; its state is kept"),
        "/jobs/{id}/resume": _action("queue a paused job again"),
        "/jobs/{id}/recrawl": _action("start a new run of an ended job (conditional "
                                      "requests, change labels)"),
        "/jobs/{id}/cancel": _action("stop the job for good (a schedule's next turns too); "
                                     "its records stay"),
    },
}
