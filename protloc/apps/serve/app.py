"""The ASGI app of ``protloc serve`` (FastAPI: typed routes and an OpenAPI description at ``/openapi.json`` for
scripts, on Starlette and uvicorn).

JSON API:
    ``POST /api/jobs`` with the FASTA file (plain or gzipped) as the request body, or as the file field of a
        multipart form (``curl -F file=@proteins.fasta``) -> 202 ``{"id", "status", "done",
        "total", "error"}``; a bad file -> 400 ``{"detail": "<the CLI's one-line message>"}``; a body over the
        upload limit, compressed or once decompressed -> 413; too many jobs waiting -> 429. The file is checked in a
        thread of its own, so other requests are answered meanwhile.
    ``GET /api/jobs/{id}`` -> the job's status and progress (404 for an unknown id).
    ``GET /api/jobs/{id}/results[?format=json|tsv|csv]`` -> the table (409 until the job is done): JSON
        ``{"columns": [...], "rows": [{column: value}]}``, each row ``protloc predict --format json``'s.
    ``GET /api/jobs/{id}/proteins/{index}`` -> one row, its sequence and its per-residue track
        (``{"kind", "target", "residues", "values", "regions"}``; ``regions``: the sorting signals a signal-head
        network finds, ``{"type", "name", "first", "last"}`` each, residues from 1), computed in threads apart from the other routes; a client
        with :data:`TRACKS_PER_CLIENT` pages in the making gets 429 for more.
    ``GET /api/model`` -> the preset: name, description, label scheme, class names, homology, track kind.

Nothing a request sends names a file on the server; everything a user typed is shown by the page as text (the
JavaScript sets ``textContent``, never HTML).
"""
from __future__ import annotations

import io
import pathlib

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect

from protloc.apps.serve.jobs import Jobs, TooManyJobs
from protloc.data import sequences
from protloc.data.features import SIGNAL_NAMES
from protloc.prediction import table

STATIC = pathlib.Path(__file__).parent / "static"
MEDIA_TYPES = {"tsv": "text/tab-separated-values", "csv": "text/csv"}


UPLOAD_BODY = {
    "required": True,
    "description": "a FASTA file, plain or gzipped: the body itself, or the file field of a multipart form",
    "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "text/plain": {"schema": {"type": "string"}, "example": ">P1 my protein\nMKVLAAGIVALLLAAG\n"},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string", "format": "binary"}}}},
    },
}
"""``POST /api/jobs``'s request body in the OpenAPI description (the route reads the body itself, to bound it)."""


TRACKS_PER_CLIENT = 4
"""Protein pages (per-residue tracks) one client may have in the making at once; more are answered 429."""
TRACK_THREADS = 2
"""Threads computing protein pages, apart from the threads that answer the other routes (the network computes one
track at a time)."""


def parse_upload(body: bytes, max_bytes: int) -> list:
    """The checked records of an uploaded FASTA file (plain or gzipped), held to ``max_bytes`` once decompressed.

    Raises:
        sequences.InputTooLargeError: over the limit (HTTP 413); sequences.SequenceError: a bad file (HTTP 400).
    """
    return list(sequences.read_fasta(io.BytesIO(body), validate=True, name="upload", max_bytes=max_bytes))


async def uploaded_file(request: Request, body: bytes) -> bytes:
    """The content of the one file field of a multipart form whose (already read, bounded) bytes are ``body``.

    Raises:
        HTTPException: 400 for a form that cannot be parsed or holds no file, or more than one.
    """
    from starlette.datastructures import UploadFile

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(request.scope, replay).form(max_files=1, max_fields=10) as form:
            uploads = [value for value in form.values() if isinstance(value, UploadFile)]
            if len(uploads) != 1:
                raise HTTPException(400, "upload: a multipart form needs exactly one file field (e.g. "
                                         "curl -F file=@proteins.fasta)")
            return await uploads[0].read()
    except HTTPException:
        raise
    except Exception as error:  # starlette's MultiPartException and the parser's errors: a malformed form
        raise HTTPException(400, f"upload: not a readable multipart form ({error})") from None


def create_app(localizer, max_upload_bytes: int = 20 * 2**20, max_jobs: int = 20) -> FastAPI:
    """The web page and JSON API (module docstring) over ``localizer``.

    Args:
        localizer: the :class:`protloc.prediction.predictor.Localizer` every job uses (loaded once).
        max_upload_bytes: the largest request body accepted.
        max_jobs: jobs waiting or running at once.
    """
    jobs = Jobs(localizer, max_jobs)
    parsing, tracking = anyio.CapacityLimiter(1), anyio.CapacityLimiter(TRACK_THREADS)  # apart from the routes'
    in_flight: dict[str, int] = {}  # protein pages being computed, per client address
    app = FastAPI(title="protloc", version="1", docs_url=None, redoc_url=None,
                  description="Subcellular localization of proteins: submit FASTA, poll, fetch the table.")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/model")
    def model() -> dict:
        """The preset every job uses."""
        card = localizer.card
        return {"name": card.get("name"), "description": card.get("description", ""),
                "label_scheme": card.get("label_scheme"), "class_names": list(localizer.class_names),
                "homology": localizer.uses_homology, "membrane": jobs.layout.membrane,
                "columns": table.header(jobs.layout)}

    @app.post("/api/jobs", status_code=202, openapi_extra={"requestBody": UPLOAD_BODY})
    async def submit(request: Request) -> dict:
        """Submits a FASTA file (plain or gzipped): the request body itself (``curl --data-binary @x.fasta``), or a
        multipart form's file field (``curl -F file=@x.fasta``); the job runs in the background."""
        body = bytearray()
        try:
            async for part in request.stream():
                body += part
                if len(body) > max_upload_bytes:
                    raise HTTPException(413, f"the upload is larger than {max_upload_bytes:,} bytes")
        except ClientDisconnect:  # the client went away mid-upload: nobody to answer, nothing to log
            raise HTTPException(400, "upload: the client disconnected before the body was complete") from None
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            body = await uploaded_file(request, bytes(body))
        try:  # off the event loop (a big upload takes seconds to check), one upload at a time
            records = await anyio.to_thread.run_sync(parse_upload, bytes(body), max_upload_bytes, limiter=parsing)
        except sequences.InputTooLargeError as error:
            raise HTTPException(413, str(error)) from None
        except sequences.SequenceError as error:
            raise HTTPException(400, str(error)) from None
        try:
            return jobs.submit(records).summary()
        except TooManyJobs as error:
            raise HTTPException(429, str(error)) from None

    def found(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job

    @app.get("/api/jobs/{job_id}")
    def status(job_id: str) -> dict:
        """A job's status (``queued``, ``running``, ``done``, ``failed``) and progress."""
        return found(job_id).summary()

    @app.get("/api/jobs/{job_id}/results")
    def results(job_id: str, format: str = "json"):
        """A finished job's table: JSON (columns and rows), or ``format=tsv`` / ``csv`` as a download."""
        job = found(job_id)
        if job.status != "done":
            raise HTTPException(409, f"job {job_id} is {job.status}" + (f": {job.error}" if job.error else ""))
        if format == "json":
            return JSONResponse({"columns": table.header(jobs.layout), "rows": job.rows})
        if format not in MEDIA_TYPES:
            raise HTTPException(400, f"format must be json, tsv or csv, got {format!r}")
        out = io.StringIO()
        table.write_records(job.rows, jobs.layout, out, format)
        return PlainTextResponse(out.getvalue(), media_type=MEDIA_TYPES[format], headers={
            "Content-Disposition": f'attachment; filename="protloc-{job_id[:8]}.{format}"'})

    @app.get("/api/jobs/{job_id}/proteins/{index}")
    async def protein(job_id: str, index: int, request: Request) -> dict:
        """One protein of a finished job: its row, sequence and per-residue track (computed off the event loop, at
        most ``TRACKS_PER_CLIENT`` at once for one client: more are answered 429)."""
        job = found(job_id)
        if job.status != "done":
            raise HTTPException(409, f"job {job_id} is {job.status}")
        if not 0 <= index < len(job.rows):
            raise HTTPException(404, f"job {job_id} has no protein {index}")
        client = request.client.host if request.client else ""
        if in_flight.get(client, 0) >= TRACKS_PER_CLIENT:
            raise HTTPException(429, f"{TRACKS_PER_CLIENT} protein pages are being computed for this client already; "
                                     f"ask again when one is done")
        in_flight[client] = in_flight.get(client, 0) + 1
        try:
            track = await anyio.to_thread.run_sync(jobs.track, job, index, limiter=tracking)
        finally:
            in_flight[client] -= 1
            if not in_flight[client]:
                del in_flight[client]
        return {"row": job.rows[index], "sequence": job.records[index].sequence.rstrip("*").upper(),
                "track": {"kind": track.kind, "target": localizer.class_names[track.target],
                          "residues": track.residues, "values": [round(float(v), 6) for v in track.values],
                          "regions": [{"type": name, "name": SIGNAL_NAMES[name], "first": first, "last": last}
                                      for name, first, last in track.regions]}}

    return app
