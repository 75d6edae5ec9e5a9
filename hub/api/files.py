"""``POST /api/files`` (a multipart upload) and ``GET /api/files/{id}`` (its metadata)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from handlers.filetypes import UnsupportedFile
from hub.api import schemas
from hub.api._request import QueryText
from hub.api.openapi import ApiRoute, Content, Operation
from hub.errors import InvalidRequest, NotFound, Problem
from hub.files import ORGANIZATION_ID
from hub.services import services
from hub.uploads import receive_upload

UPLOAD = Content(
    {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "The file, under its own name"},
                    "organizationId": {"type": "string", "pattern": ORGANIZATION_ID.pattern},
                },
                "required": ["file"],
            }
        }
    },
    "The file, checked by its content; past HUB_MAX_UPLOAD_MB the answer is 413",
)
OWNER = QueryText("organizationId", "404 unless the file is this organization's")


def _organization(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not ORGANIZATION_ID.match(value):
        raise InvalidRequest(
            "The upload has a problem with organizationId",
            [Problem("organizationId", "organizationId may hold letters, digits and _ . @ - (at most 128)")],
        )
    return value


async def upload_file(request: Request) -> Response:
    hub = services(request)
    catalog = hub.files
    max_bytes = int(hub.settings.max_upload_mb * 1024 * 1024)
    async with receive_upload(request, catalog.incoming, max_bytes) as upload:
        organization_id = _organization(upload.fields.get("organizationId"))
        received = upload.file
        if received is None:
            raise InvalidRequest("The upload has no file", [Problem("file", "send the file in a field named 'file'")])
        try:
            record = await catalog.adopt(received.path, received.name, organization_id)
        except UnsupportedFile as error:
            raise InvalidRequest("The file was refused", [Problem("file", str(error))]) from None
    return JSONResponse(record.to_dict(), status_code=201)


async def get_file(request: Request) -> Response:
    file_id = request.path_params["file_id"]
    record = await services(request).files.get(file_id)
    organization_id = OWNER.read(request)
    if record is None or (organization_id and record.organization_id != organization_id):
        raise NotFound(f"No file with id {file_id!r}")
    return JSONResponse(record.to_dict())


routes = [
    ApiRoute(
        "/api/files",
        upload_file,
        method="POST",
        operation=Operation("Upload a file", {201: schemas.StoredFile, 503: schemas.Error}, UPLOAD, tags=("files",)),
    ),
    ApiRoute(
        "/api/files/{file_id}",
        get_file,
        method="GET",
        operation=Operation(
            "An uploaded file's metadata",
            {200: schemas.StoredFile, 404: schemas.Error},
            query=(OWNER,),
            tags=("files",),
        ),
    ),
]
