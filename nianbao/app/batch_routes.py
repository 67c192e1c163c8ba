"""Routes of batch jobs: an archive extracted into the store in the background (``batches.py``), each
job's state and counts polled by its id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from nianbao.app.auth import WRITE, Id
from nianbao.app.batches import BatchJobs, JobStatus
from nianbao.app.bodies import utc
from nianbao.app.deps import JobsDep
from nianbao.errors import CodedError, ErrorCode

REFUSED_STATUS = {ErrorCode.E_NO_ARCHIVE_ROOT: 403, ErrorCode.E_OUTSIDE_ARCHIVE: 403}  # other refusals: 422
SUBMIT_ERRORS = {  # of a batch's submission, for the API docs
    403: {"description": f"{', '.join(REFUSED_STATUS)}, or the token is wrong"},
    422: {"description": f"{ErrorCode.E_PATH_MISSING}, {ErrorCode.E_TOO_MANY_WORKERS}, or a malformed body"},
}
router = APIRouter(tags=["batches"])


class BatchOptions(BaseModel):
    """How a batch job runs: the options of ``nianbao batch`` a client may choose."""

    model_config = ConfigDict(extra="forbid")
    workers: int = Field(1, ge=1, description="worker processes, at most the server's limit")
    reextract: bool = Field(False, description="redo documents only an older pipeline or model extracted")
    retry_failed: bool = Field(False, description="try files that failed before again")


class BatchIn(BatchOptions):
    paths: list[str] = Field(
        min_length=1,
        max_length=1000,
        description="files or directories of the server's archive root: relative to it, or absolute "
        "inside it (symlinks followed)",
    )


class FileCounts(BaseModel):
    pending: int = Field(description="seen, not yet extracted")
    done: int
    partial: int = Field(description="extracted, but a whole section came out empty")
    failed: int


class BatchOut(BaseModel):
    id: int
    state: Literal["queued", "running", "done", "failed"] = Field(
        description="done: the batch ran to its end (some files may have failed: see counts); "
        "failed: the batch itself did not (see error)"
    )
    paths: list[str] = Field(description="relative to the archive root")
    options: BatchOptions
    counts: FileCounts = Field(description="the job's files by state: live while it runs, then as it ended")
    summary: str | None = Field(description="the batch's summary line, as ``nianbao batch`` prints it")
    error: str | None = Field(description="'CODE: cause' when the job failed (E_INTERRUPTED, E_INTERNAL)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _batch_out(status: JobStatus, jobs: BatchJobs) -> BatchOut:
    row = status.row
    return BatchOut(
        id=row.id,
        state=row.state,
        paths=[jobs.shown_path(p) for p in row.paths],
        options=BatchOptions(**row.options),
        counts=FileCounts(**status.counts),
        summary=row.summary,
        error=row.error,
        created_at=utc(row.created_at),
        started_at=utc(row.started_at),
        finished_at=utc(row.finished_at),
    )


@router.post(
    "/batches",
    status_code=202,
    dependencies=WRITE,
    responses=SUBMIT_ERRORS,
)
def submit_batch(batch: BatchIn, jobs: JobsDep) -> BatchOut:
    """Queue a batch over files or directories of the archive root, run in the background as
    ``nianbao batch`` runs it (stored documents are skipped); poll ``GET /batches/{job_id}``."""
    try:
        job_id = jobs.submit(batch.paths, batch.model_dump(exclude={"paths"}))
    except CodedError as refused:
        raise HTTPException(REFUSED_STATUS.get(refused.code, 422), str(refused)) from None
    return _batch_out(jobs.status(job_id), jobs)


@router.get("/batches")
def batches(jobs: JobsDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[BatchOut]:
    """The newest batch jobs, newest first."""
    return [_batch_out(status, jobs) for status in jobs.recent(limit)]


@router.get("/batches/{job_id}")
def batch(job_id: Id, jobs: JobsDep) -> BatchOut:
    """A batch job's state, its files' counts by state, its summary line and error."""
    status = jobs.status(job_id)
    if status is None:
        raise HTTPException(404, ErrorCode.E_NO_BATCH.message(f"no batch job {job_id}"))
    return _batch_out(status, jobs)
