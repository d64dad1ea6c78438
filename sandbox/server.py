"""The sandbox over HTTP (aiohttp): the Bot API, file downloads, a JSON API and the web page.

Routes:

* ``/bot<token>/<method>`` — the Bot API as Telegram serves it: GET or POST; parameters in
  the query string, JSON, url-encoded or multipart bodies; ``{"ok": …}`` answers with
  Telegram's status codes and error texts. ``getUpdates`` long-polls.
* ``/file/bot<token>/<file_path>`` — file downloads (after ``getFile``).
* ``/api/…`` — the JSON API the page and the tests use to act as people (see README).
* ``/`` — the web chat page (static files in ``sandbox/web``; no external CDN).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import BodyPartReader, web

from sandbox.world import ApiError, Upload, World, typed_phone

log = logging.getLogger("sandbox")

#: Bot API parameters whose form-encoded values are JSON (numbers, booleans, objects).
#: Everything else (text, caption, parse_mode, file ids…) stays a string, as Telegram reads it.
NON_STRING_PARAMS = frozenset(
    {
        "chat_id", "from_chat_id", "message_id", "message_ids", "user_id", "offset", "limit",
        "timeout", "allowed_updates", "reply_markup", "entities", "caption_entities", "media",
        "commands", "scope", "reply_parameters", "link_preview_options", "show_alert",
        "cache_time", "disable_notification", "protect_content", "reply_to_message_id",
        "allow_sending_without_reply", "message_thread_id", "drop_pending_updates",
        "max_connections", "has_spoiler", "disable_content_type_detection",
        "disable_web_page_preview", "show_caption_above_media", "only_if_banned",
    }
)  # fmt: skip

#: How long ``/api/chats/{id}/tap`` waits for the bot to answer the callback query.
ANSWER_WAIT = 5.0
#: How often the saver looks whether a save is due (``World.save_due``).
SAVE_INTERVAL = 1.0

WORLD: web.AppKey[World] = web.AppKey("world", World)
#: The time zone the page shows times in: the estate's (``python -m sandbox --timezone``).
TIMEZONE: web.AppKey[str] = web.AppKey("timezone", str)
#: The demo estate's time zone, and every estate's unless its config says otherwise.
DEFAULT_TIMEZONE = "Asia/Shanghai"


def decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Form values are strings; the non-string parameters are JSON-decoded."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in NON_STRING_PARAMS and isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except json.JSONDecodeError:
                params[key] = value
        else:
            params[key] = value
    return params


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters from the query string and the body, and any uploaded files."""
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    ctype = request.content_type
    if request.can_read_body:
        if ctype == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                raw.update(body)
        elif ctype == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    content = bytes(await part.read(decode=False))
                    mime = part.headers.get("Content-Type")
                    uploads[part.name] = Upload(part.name, part.filename, content, mime)
                else:
                    raw[part.name] = await part.text()
        else:
            form = await request.post()
            raw.update({k: v for k, v in form.items() if isinstance(v, str)})
    return decode_params(raw), uploads


def ok(result: Any) -> web.Response:
    """A Bot API success."""
    return web.json_response({"ok": True, "result": result}, dumps=_dumps)


def failed(error: ApiError) -> web.Response:
    """A Bot API failure with Telegram's status code."""
    return web.json_response(error.payload(), status=error.code, dumps=_dumps)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


async def bot_api(request: web.Request) -> web.Response:
    """``/bot<token>/<method>``."""
    world = request.app[WORLD]
    token, method = request.match_info["token"], request.match_info["method"]
    try:
        params, uploads = await read_params(request)
    except (ValueError, json.JSONDecodeError):
        return failed(ApiError(400, "Bad Request: can't parse request body"))
    delay = world.take_delay(method, params)
    if delay:
        await asyncio.sleep(delay)
    try:
        if method.lower() == "getupdates":
            return ok(await world.get_updates(token, params))
        return ok(world.call(token, method, params, uploads))
    except ApiError as error:
        return failed(error)


async def file_download(request: web.Request) -> web.StreamResponse:
    """``/file/bot<token>/<file_path>``."""
    world = request.app[WORLD]
    try:
        content = world.download(request.match_info["token"], request.match_info["path"])
    except ApiError as error:
        return failed(error)
    return web.Response(body=content, content_type="application/octet-stream")


# --- JSON API --------------------------------------------------------------------------------


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _bad(message: str, status: int = 400) -> web.Response:
    return _json({"error": message}, status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bad input to the JSON API answers 400 with a readable message, never a traceback."""
    try:
        return await handler(request)
    except (ValueError, KeyError, TypeError) as exc:
        if not request.path.startswith("/api/"):
            raise
        return _bad(f"{type(exc).__name__}: {exc}")
    except ApiError as error:
        return _json({"error": error.description}, error.code)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer") from None


def _reply_to(fields: dict[str, Any]) -> int | None:
    """The message a person's message answers (``reply_to``), if any."""
    value = fields.get("reply_to")
    return _int(value, "reply_to") if value not in (None, "") else None


async def api_state(request: web.Request) -> web.Response:
    """``GET /api/state``: the bot, the people, the groups (without their messages), and the
    time zone the page shows times in (the estate's; Telegram dates are UTC seconds)."""
    world = request.app[WORLD]
    groups = [
        world.chat_record(chat["id"])
        for person in world.people()
        for chat in world.chats_of(person["id"])
        if chat["type"] != "private"
    ]
    unique = {g["id"]: g for g in groups if g.get("migrated_to") is None}
    return _json(
        {
            "bot": world.me(),
            "people": world.people(),
            "groups": list(unique.values()),
            "timezone": request.app[TIMEZONE],
        }
    )


async def api_people(request: web.Request) -> web.Response:
    """``GET /api/people``."""
    return _json(request.app[WORLD].people())


async def api_add_person(request: web.Request) -> web.Response:
    """``POST /api/people`` {first_name, last_name?, username?, phone?, language_code?, label?}
    (a phone typed without a country code is Chinese: :func:`sandbox.world.typed_phone`)."""
    body = await _body(request)
    name = str(body.get("first_name") or "").strip()
    if not name:
        raise ValueError("first_name is required")
    person = request.app[WORLD].add_user(
        body.get("id"),
        name,
        last_name=body.get("last_name") or None,
        username=body.get("username") or None,
        language_code=str(body.get("language_code") or "zh-hans"),
        phone=typed_phone(str(body.get("phone") or "")),
        label=str(body.get("label") or ""),
    )
    return _json(person, 201)


async def api_chats(request: web.Request) -> web.Response:
    """``GET /api/people/{uid}/chats``."""
    uid = _int(request.match_info["uid"], "uid")
    return _json(request.app[WORLD].chats_of(uid))


async def api_block(request: web.Request) -> web.Response:
    """``POST /api/people/{uid}/block`` {blocked: bool}: the person blocks (or unblocks) the bot."""
    uid = _int(request.match_info["uid"], "uid")
    body = await _body(request)
    request.app[WORLD].block_bot(uid, bool(body.get("blocked", True)))
    return _json({"ok": True})


async def api_messages(request: web.Request) -> web.Response:
    """``GET /api/chats/{chat_id}/messages?after=N``."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    after = _int(request.query.get("after", "0"), "after")
    return _json(request.app[WORLD].messages(chat_id, after=after))


async def api_keyboard(request: web.Request) -> web.Response:
    """``GET /api/chats/{chat_id}/keyboard``: the bot's reply keyboard there, or null."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    return _json(request.app[WORLD].reply_keyboard(chat_id))


async def api_commands(request: web.Request) -> web.Response:
    """``GET /api/chats/{chat_id}/commands?as=uid``: the bot's command menu as that person
    sees it there (Telegram's scope and language order)."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    return _json(request.app[WORLD].menu(_int(request.query.get("as"), "as"), chat_id))


async def api_text(request: web.Request) -> web.Response:
    """``POST /api/chats/{chat_id}/text`` {as, text, reply_to?}."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    body = await _body(request)
    text = str(body.get("text") or "")
    if not text.strip():
        raise ValueError("text is required")
    update = request.app[WORLD].send_text(
        _int(body.get("as"), "as"), chat_id, text, reply_to=_reply_to(body)
    )
    return _json(update, 201)


async def api_dismiss_force_reply(request: web.Request) -> web.Response:
    """``DELETE /api/chats/{chat_id}/force_reply?as=UID``: the person closes the reply
    interface the bot's ForceReply opened (``dismissed``: whether there was one)."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    uid = _int(request.query.get("as"), "as")
    return _json({"dismissed": request.app[WORLD].dismiss_force_reply(uid, chat_id)})


async def api_contact(request: web.Request) -> web.Response:
    """``POST /api/chats/{chat_id}/contact`` {as, phone?, user_id?}: own contact by default."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    body = await _body(request)
    contact_user = body.get("user_id")
    update = request.app[WORLD].send_contact(
        _int(body.get("as"), "as"),
        chat_id,
        phone=body.get("phone") or None,
        contact_user_id=_int(contact_user, "user_id") if contact_user is not None else None,
        first_name=body.get("first_name") or None,
    )
    return _json(update, 201)


async def _form_with_files(request: web.Request) -> tuple[dict[str, str], list[Upload]]:
    """A multipart form's fields and its files, in the order sent."""
    fields: dict[str, str] = {}
    uploads: list[Upload] = []
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            content = bytes(await part.read(decode=False))
            mime = part.headers.get("Content-Type")
            uploads.append(Upload(part.name, part.filename, content, mime))
        else:
            fields[part.name] = await part.text()
    return fields, uploads


async def _form_with_file(request: web.Request) -> tuple[dict[str, str], Upload]:
    fields, uploads = await _form_with_files(request)
    if not uploads or not uploads[-1].content:
        raise ValueError("a non-empty file is required")
    return fields, uploads[-1]


async def api_photo(request: web.Request) -> web.Response:
    """``POST /api/chats/{chat_id}/photo`` multipart: as, caption?, reply_to?,
    media_group_id? (photos sharing one form an album, as Telegram sends them), file."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    fields, upload = await _form_with_file(request)
    update = request.app[WORLD].send_photo(
        _int(fields.get("as"), "as"),
        chat_id,
        upload.content,
        caption=fields.get("caption") or None,
        media_group_id=fields.get("media_group_id") or None,
        reply_to=_reply_to(fields),
    )
    return _json(update, 201)


async def api_album(request: web.Request) -> web.Response:
    """``POST /api/chats/{chat_id}/album`` multipart: as, caption?, reply_to?, and 2 to 10
    files named ``file``: an album sent at once, as Telegram's apps send one (the photos get
    consecutive message ids and reach the bot together, the caption on the first); returns
    the Updates. Nothing is sent if any photo is refused."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    fields, uploads = await _form_with_files(request)
    updates = request.app[WORLD].send_album(
        _int(fields.get("as"), "as"),
        chat_id,
        [upload.content for upload in uploads],
        caption=fields.get("caption") or None,
        reply_to=_reply_to(fields),
    )
    return _json(updates, 201)


async def api_document(request: web.Request) -> web.Response:
    """``POST /api/chats/{chat_id}/document`` multipart: as, caption?, reply_to?, file."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    fields, upload = await _form_with_file(request)
    update = request.app[WORLD].send_document(
        _int(fields.get("as"), "as"),
        chat_id,
        upload.content,
        upload.filename,
        mime_type=upload.mime_type,
        caption=fields.get("caption") or None,
        reply_to=_reply_to(fields),
    )
    return _json(update, 201)


async def api_tap(request: web.Request) -> web.Response:
    """``POST /api/chats/{chat_id}/tap`` {as, message_id, data}: press an inline button.

    Waits (up to 5 s) for the bot's answerCallbackQuery and returns it with the update.
    """
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    body = await _body(request)
    world = request.app[WORLD]
    update = world.press_button(
        _int(body.get("as"), "as"),
        chat_id,
        _int(body.get("message_id"), "message_id"),
        str(body.get("data") or ""),
        check=not bool(body.get("forge")),
    )
    query_id = update["callback_query"]["id"]
    answer = None
    deadline = asyncio.get_running_loop().time() + ANSWER_WAIT
    while answer is None and asyncio.get_running_loop().time() < deadline:
        answer = world.callback_answer(query_id)
        if answer is None:
            await asyncio.sleep(0.05)
    return _json({"update": update, "answer": answer})


async def api_add_group(request: web.Request) -> web.Response:
    """``POST /api/groups`` {title, members: [uid…], supergroup?, by?}."""
    body = await _body(request)
    title = str(body.get("title") or "").strip()
    if not title:
        raise ValueError("title is required")
    members = [_int(m, "members") for m in body.get("members") or []]
    chat = request.app[WORLD].add_group(
        title,
        members,
        supergroup=bool(body.get("supergroup")),
        by=_int(body["by"], "by") if body.get("by") is not None else None,
    )
    return _json(chat, 201)


async def api_add_member(request: web.Request) -> web.Response:
    """``POST /api/groups/{chat_id}/members`` {user_id}."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    body = await _body(request)
    request.app[WORLD].add_member(chat_id, _int(body.get("user_id"), "user_id"))
    return _json({"ok": True})


async def api_upgrade(request: web.Request) -> web.Response:
    """``POST /api/groups/{chat_id}/upgrade``: the group becomes a supergroup (new id)."""
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    return _json(request.app[WORLD].upgrade_group(chat_id))


async def api_faults(request: web.Request) -> web.Response:
    """``GET|POST|DELETE /api/faults``: inject Telegram failures into the next calls."""
    world = request.app[WORLD]
    if request.method == "POST":
        body = await _body(request)
        kind = str(body.get("kind") or "")
        if kind not in {"429", "500", "403", "400", "delay"}:
            raise ValueError("kind must be one of 429, 500, 403, 400, delay")
        world.inject(
            str(body.get("method") or ""),
            kind,  # type: ignore[arg-type]
            times=_int(body.get("times", 1), "times"),
            retry_after=_int(body.get("retry_after", 1), "retry_after"),
            delay=float(body.get("delay", 0.0)),
            description=body.get("description") or None,
            chat_id=_int(body["chat_id"], "chat_id") if body.get("chat_id") is not None else None,
        )
    elif request.method == "DELETE":
        world.clear_faults()
    return _json(world.faults())


async def api_calls(request: web.Request) -> web.Response:
    """``GET /api/calls?method=&since=N``: the Bot API calls the bot made (for tests)."""
    world = request.app[WORLD]
    method = request.query.get("method", "").lower()
    since = _int(request.query.get("since", "0"), "since")
    calls = [c.as_dict() for c in world.calls[since:]]
    if method:
        calls = [c for c in calls if str(c["method"]).lower() == method]
    return _json(calls)


async def api_file(request: web.Request) -> web.Response:
    """``GET /api/files/{file_id}``: a file's bytes, for the page to show photos and documents."""
    content, name, mime = request.app[WORLD].file_by_id(request.match_info["file_id"])
    headers = {}
    if name:  # RFC 6266: an ASCII fallback, and the real (often Chinese) name in UTF-8
        fallback = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
        headers["Content-Disposition"] = (
            f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
        )
    return web.Response(
        body=content, content_type=mime or "application/octet-stream", headers=headers
    )


async def api_events(request: web.Request) -> web.StreamResponse:
    """``GET /api/events``: server-sent events for every new, edited or deleted message, each
    callback answer and each ForceReply asked or ended (see :meth:`World.subscribe`)."""
    world = request.app[WORLD]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    queue = world.subscribe()
    try:
        await response.write(b": connected\n\n")
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=15)
            except TimeoutError:
                await response.write(b": ping\n\n")
                continue
            await response.write(f"data: {_dumps(event)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        world.unsubscribe(queue)
    return response


# --- the page ----------------------------------------------------------------------------------


def _static(name: str) -> bytes:
    return resources.files("sandbox.web").joinpath(name).read_bytes()


_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
          ".svg": "image/svg+xml", ".png": "image/png"}  # fmt: skip


async def page(request: web.Request) -> web.Response:
    """``/`` and ``/static/<name>``: the web chat page."""
    name = request.match_info.get("name", "index.html")
    if "/" in name or name.startswith(".") or name == "__init__.py":
        raise web.HTTPNotFound()
    try:
        body = _static(name)
    except (FileNotFoundError, IsADirectoryError):
        raise web.HTTPNotFound() from None
    suffix = name[name.rfind(".") :]
    ctype = _TYPES.get(suffix, "application/octet-stream")
    return web.Response(body=body, content_type=ctype, charset="utf-8" if "text" in ctype else None)


# --- the application ---------------------------------------------------------------------------


async def _saver(app: web.Application) -> AsyncIterator[None]:
    """Write the world to disk when a save is due, and once more at shutdown."""
    world = app[WORLD]

    async def loop() -> None:
        while True:
            await asyncio.sleep(SAVE_INTERVAL)
            if world.save_due():  # still for a second, or 30 s since the last save
                world.save()

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    world.save_if_dirty()


def check_timezone(name: str) -> str:
    """``name`` if it is a time zone this machine knows (IANA, e.g. Asia/Shanghai); else
    ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name such as {DEFAULT_TIMEZONE})"
        ) from None
    return name


def make_app(world: World, *, timezone: str = DEFAULT_TIMEZONE) -> web.Application:
    """The sandbox's aiohttp application over a world; the page shows times in ``timezone``
    (an IANA name; ValueError if unknown)."""
    check_timezone(timezone)
    app = web.Application(middlewares=[api_errors], client_max_size=60 * 1024 * 1024)
    app[WORLD] = world
    app[TIMEZONE] = timezone
    app.cleanup_ctx.append(_saver)
    r = app.router
    r.add_route("*", "/bot{token}/{method}", bot_api)
    r.add_get("/file/bot{token}/{path:.+}", file_download)
    r.add_get("/api/state", api_state)
    r.add_get("/api/people", api_people)
    r.add_post("/api/people", api_add_person)
    r.add_get("/api/people/{uid}/chats", api_chats)
    r.add_post("/api/people/{uid}/block", api_block)
    r.add_get("/api/chats/{chat_id}/messages", api_messages)
    r.add_get("/api/chats/{chat_id}/keyboard", api_keyboard)
    r.add_get("/api/chats/{chat_id}/commands", api_commands)
    r.add_post("/api/chats/{chat_id}/text", api_text)
    r.add_delete("/api/chats/{chat_id}/force_reply", api_dismiss_force_reply)
    r.add_post("/api/chats/{chat_id}/contact", api_contact)
    r.add_post("/api/chats/{chat_id}/photo", api_photo)
    r.add_post("/api/chats/{chat_id}/album", api_album)
    r.add_post("/api/chats/{chat_id}/document", api_document)
    r.add_post("/api/chats/{chat_id}/tap", api_tap)
    r.add_post("/api/groups", api_add_group)
    r.add_post("/api/groups/{chat_id}/members", api_add_member)
    r.add_post("/api/groups/{chat_id}/upgrade", api_upgrade)
    r.add_route("*", "/api/faults", api_faults)
    r.add_get("/api/calls", api_calls)
    r.add_get("/api/files/{file_id}", api_file)
    r.add_get("/api/events", api_events)
    r.add_get("/", page)
    r.add_get("/static/{name}", page)
    return app
