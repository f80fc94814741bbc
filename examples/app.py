"""An example asyncflask app: the request/response idioms of Flask's
documentation, written as ``async def`` views.

Run it with ``make run`` (that is ``cd examples && asyncflask --app app:app
run``) and open http://127.0.0.1:8000/. The code is Flask code; the only
differences are ``async def`` and ``await`` where the request body is read
(``await request.get_json()``, ``await request.form``).

Sections: pages, query arguments, response shapes, cookies, redirects, the
JSON API, the login form (a template, the session and a flashed message),
uploads and downloads, live server-sent events, a chat on a broadcast channel,
websocket chat rooms, static files (the stylesheet and icon in ``static/``),
the admin blueprint, hooks and error handlers. To add a feature, add a
section and list its pages in ``LINKS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

from markupsafe import Markup, escape
from werkzeug.utils import secure_filename

from asyncflask import (
    Blueprint,
    Broadcast,
    EventStream,
    Flask,
    Response,
    ServerSentEvent,
    abort,
    after_this_request,
    flash,
    get_flashed_messages,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    session,
    url_for,
    websocket,
)

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "dev-only-change-me")
app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
#: Where uploads are saved (and downloaded from).
UPLOAD_FOLDER = Path(
    os.environ.get("UPLOAD_FOLDER") or Path(tempfile.gettempdir()) / "asyncflask-example-uploads"
)
UPLOAD_FOLDER.mkdir(parents=True, exist_ok=True)
(UPLOAD_FOLDER / "hello.txt").write_text("Hello from the upload folder.\n")

#: The index page's links, by section: (URL, what it shows). Add yours here.
LINKS: dict[str, list[tuple[str, str]]] = {
    "Pages": [
        ("/hello/World", "a path argument, escaped into HTML"),
        ("/login", "a login form (POST, await request.form)"),
    ],
    "Query arguments": [
        ("/search?q=flask&page=2&tag=web&tag=async", "request.args, with type=int and getlist"),
    ],
    "Response shapes": [
        ("/json", "a dict becomes JSON"),
        ("/api/users", "jsonify() of a list"),
        ("/created", "(body, status): 201"),
        ("/with-headers", "(body, status, headers)"),
        ("/json-created", "(body, headers): a Location header"),
        ("/custom", "make_response() and a header"),
        ("/text", "a Response with mimetype text/plain"),
        ("/special", "after_this_request adds a header"),
    ],
    "Cookies": [
        ("/cookies", "read the cookies"),
        ("/cookies/set?flavour=chocolate", "set a cookie, then redirect"),
        ("/cookies/delete", "delete it"),
    ],
    "Redirects and errors": [
        ("/old-page", "a permanent redirect to this page"),
        ("/go/Ada", "a redirect built with url_for"),
        ("/no-such-page", "the HTML 404 page"),
        ("/api/no-such-thing", "the JSON 404 for /api"),
    ],
    "JSON API": [
        ("/api/users", "GET the users; POST JSON {name, email} to create one"),
        ("/api/users/1", "one user"),
    ],
    "Uploads and downloads": [
        ("/upload", "an upload form (multipart, await request.files, await file.save)"),
        ("/uploads/hello.txt", "send_from_directory, as an attachment"),
        ("/report", "send_file of a BytesIO with a download name"),
    ],
    "Server-sent events": [
        ("/clock", "a live clock: the browser's EventSource shows each event"),
        ("/clock/events?count=3", "the raw event stream (three events; endless without count)"),
    ],
    "Chat (a broadcast channel)": [
        ("/chat", "post a message; every open chat page shows it (/chat/events)"),
    ],
    "WebSockets": [
        ("/rooms/lobby", "a chat room: open it in two tabs (any /rooms/<room> works)"),
    ],
    "Static files": [
        ("/static/style.css", "the stylesheet, from the static folder"),
        ("/favicon.ico", "the icon browsers ask for, sent from the static folder"),
    ],
    "Admin blueprint (/admin)": [
        ("/admin/", "the blueprint's index"),
        ("/admin/users", "request.blueprint and request.endpoint"),
    ],
}


#: The bar at the top of every page: (URL, label).
NAV = [
    ("/login", "Log in"),
    ("/upload", "Uploads"),
    ("/clock", "Clock"),
    ("/chat", "Chat"),
    ("/rooms/lobby", "Rooms"),
    ("/api/users", "API"),
]


def layout() -> dict[str, Markup]:
    """The page's ``<head>`` links (stylesheet, icon) and navigation bar,
    shared by :func:`page` and the templates (a context processor below)."""
    css = url_for("static", filename="style.css")
    icon = url_for("static", filename="favicon.svg")
    head = (
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<link rel=stylesheet href='{css}'><link rel=icon type='image/svg+xml' href='{icon}'>"
    )
    items = "".join(f"<li><a href='{url}'>{label}</a></li>" for url, label in NAV)
    nav = (
        f"<nav class=site-nav><ul><li class=brand><a href='/'><img src='{icon}' alt=''>"
        f" asyncflask example</a></li>{items}</ul></nav>"
    )
    return {"head": Markup(head), "nav": Markup(nav)}


def page(title: str, body: str | Markup) -> str:
    """A whole HTML page around ``body`` (which must already be safe),
    with the messages flashed by earlier requests."""
    user = session.get("user")
    status = (
        f"Logged in as {escape(user)}. <a href='/logout'>Log out</a>" if user else "Not logged in."
    )
    flashed = "".join(
        f"<p class='flash {escape(category)}'>{escape(message)}</p>"
        for category, message in get_flashed_messages(with_categories=True)
    )
    parts = layout()
    return (
        f"<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"{parts['head']}</head>\n<body>{parts['nav']}\n<main><h1>{escape(title)}</h1>\n"
        f"{flashed}{body}</main>\n"
        f"<footer><p><small>{status} <a href='/'>Index</a></small></p></footer></body></html>\n"
    )


@app.context_processor
def layout_context():
    """``head`` and ``nav`` for the templates (see ``templates/login.html``)."""
    return layout()


# -- pages ---------------------------------------------------------------------


@app.route("/")
async def index():
    """The list of everything this example shows."""
    sections = []
    for section, links in LINKS.items():
        items = "".join(
            f"<li><a href='{escape(url)}'>{escape(url)}</a>: {escape(text)}</li>"
            for url, text in links
        )
        sections.append(f"<h2>{escape(section)}</h2><ul class=links>{items}</ul>")
    intro = (
        "<p>Flask's request/response idioms, written as <code>async def</code> views."
        " Every link below is a live endpoint of <code>examples/app.py</code>.</p>"
    )
    return page("asyncflask example", intro + "\n".join(sections))


@app.get("/favicon.ico")
async def favicon():
    """The icon browsers ask for at this URL when a page does not name one
    (a JSON answer, say); the HTML pages link ``static/favicon.svg``."""
    return send_from_directory(app.static_folder, "favicon.ico")


@app.route("/hello/<name>")
async def hello(name):
    """A path argument; ``escape`` keeps HTML out."""
    return page("Hello", f"<p>Hello, {escape(name)}!</p>")


# -- query arguments -----------------------------------------------------------


@app.route("/search")
async def search():
    """``/search?q=...&page=...&tag=...``: ``page`` is converted with
    ``type=int`` (falling back to 1), ``tag`` may repeat."""
    query = request.args.get("q", "")
    page_number = request.args.get("page", 1, type=int)
    tags = request.args.getlist("tag")
    return {"query": query, "page": page_number, "tags": tags}


# -- response shapes -----------------------------------------------------------


@app.route("/json")
async def json_dict():
    """A dict is sent as JSON."""
    return {"message": "Hello", "status": "success"}


@app.route("/created")
async def created():
    """``(body, status)``."""
    return "Resource created", 201


@app.route("/with-headers")
async def with_headers():
    """``(body, status, headers)``."""
    return "OK", 200, {"X-Custom": "value"}


@app.route("/json-created")
async def json_created():
    """``(body, headers)``: the status stays 200."""
    return {"id": 123}, {"Location": "/api/resource/123"}


@app.route("/custom")
async def custom():
    """``make_response`` gives a response to change before returning it."""
    response = make_response("Hello from make_response")
    response.headers["X-Custom"] = "value"
    return response


@app.route("/text")
async def text():
    """An explicit ``Response`` object."""
    return Response("Plain text, not HTML.", mimetype="text/plain")


@app.route("/special")
async def special():
    """``after_this_request`` changes this response only."""

    @after_this_request
    def add_special_header(response):
        response.headers["X-Special"] = "true"
        return response

    return "Special page"


# -- cookies -------------------------------------------------------------------


@app.route("/cookies")
async def cookies():
    """The cookies the browser sent."""
    return {"cookies": request.cookies.to_dict()}


@app.route("/cookies/set")
async def cookies_set():
    """Set the ``flavour`` cookie (``?flavour=...``) and go back to
    ``/cookies``."""
    response = make_response(redirect(url_for("cookies")))
    response.set_cookie(
        "flavour",
        request.args.get("flavour", "chocolate"),
        max_age=3600,
        httponly=True,
        samesite="Lax",
    )
    return response


@app.route("/cookies/delete")
async def cookies_delete():
    """Delete the ``flavour`` cookie."""
    response = make_response(redirect(url_for("cookies")))
    response.delete_cookie("flavour")
    return response


# -- redirects -----------------------------------------------------------------


@app.route("/old-page")
async def old_page():
    """A moved page: a permanent redirect."""
    return redirect(url_for("index"), code=301)


@app.route("/go/<name>")
async def go(name):
    """A redirect to a URL built from an endpoint and its arguments."""
    return redirect(url_for("hello", name=name))


# -- the JSON API --------------------------------------------------------------

#: The users, in memory (a database in a real app).
USERS: dict[int, dict[str, object]] = {
    1: {"id": 1, "name": "Alice", "email": "alice@example.com"},
    2: {"id": 2, "name": "Bob", "email": "bob@example.com"},
}
_user_ids = itertools.count(3)


class InvalidAPIUsage(Exception):
    """A client error in an API call, sent as JSON (see the handler below)."""

    status_code = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


@app.errorhandler(InvalidAPIUsage)
async def invalid_api_usage(e):
    """``{"error": message}`` with the error's status."""
    return jsonify(error=e.message), e.status_code


@app.get("/api/users")
async def list_users():
    """All users: ``jsonify`` of a list."""
    return jsonify(list(USERS.values()))


@app.post("/api/users")
async def create_user():
    """Create a user from a JSON body ``{"name": ..., "email": ...}``.

    Invalid JSON is a 400 and a non-JSON body a 415 before this code runs on;
    a missing name is our own 400. The answer is 201 with a Location."""
    data = await request.get_json()
    if not isinstance(data, dict):
        raise InvalidAPIUsage("expected a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidAPIUsage("name is required")
    email = data.get("email")
    if email is not None and not isinstance(email, str):
        raise InvalidAPIUsage("email must be a string")
    user_id = next(_user_ids)
    user = {"id": user_id, "name": name.strip(), "email": email}
    USERS[user_id] = user
    return jsonify(user), 201, {"Location": url_for("get_user", user_id=user_id)}


@app.get("/api/users/<int:user_id>")
async def get_user(user_id):
    """One user, or a JSON 404 (see the 404 handler)."""
    if user_id not in USERS:
        abort(404)
    return jsonify(USERS[user_id])


# -- the login form ------------------------------------------------------------

#: The demo password (a real app checks a password hash from its database).
DEMO_PASSWORD = "asyncflask"


@app.get("/login")
async def login_form():
    """The login form, rendered from ``templates/login.html``."""
    return await render_template("login.html", password=DEMO_PASSWORD, username="")


@app.post("/login")
async def login():
    """Check the form (``await request.form``): a missing ``username`` field
    is a 400, as in Flask; a wrong password shows the form again with 401.
    Success stores the user in the session and flashes a welcome."""
    form = await request.form
    username = form["username"].strip()
    password = form.get("password", "")
    if not username or password != DEMO_PASSWORD:
        error = "Wrong user name or password."
        html = await render_template(
            "login.html", error=error, password=DEMO_PASSWORD, username=username
        )
        return html, 401
    session["user"] = username
    flash(f"Welcome, {username}!", "success")
    response = make_response(redirect(url_for("index")))
    if "remember_me" in form:
        response.set_cookie("remember_me", username, max_age=30 * 24 * 3600, httponly=True)
    return response


@app.route("/logout")
async def logout():
    """Forget the user and go back to the index."""
    session.pop("user", None)
    response = make_response(redirect(url_for("index")))
    response.delete_cookie("remember_me")
    return response


# -- uploads and downloads -----------------------------------------------------

UPLOAD_FORM = """
<form method=post enctype=multipart/form-data>
  <p><input type=file name=file> <button type=submit>Upload</button></p>
</form>
"""


@app.get("/upload")
def upload_form():
    """The upload form, and what is in the upload folder. A plain ``def``
    view runs in a worker thread, so listing the folder here does not block
    the event loop."""
    names = sorted(p.name for p in UPLOAD_FOLDER.iterdir() if p.is_file())
    items = "".join(
        f"<li><a href='{url_for('download', filename=name)}'>{escape(name)}</a></li>"
        for name in names
    )
    return page("Upload a file", Markup(UPLOAD_FORM) + Markup(f"<ul>{items}</ul>"))


@app.post("/upload")
async def upload():
    """Save the uploaded file (``await request.files``, ``await file.save``:
    both stream, and the disk writes happen off the event loop)."""
    files = await request.files
    if "file" not in files:
        return page("Upload a file", "<p>No file part.</p>"), 400
    file = files["file"]
    if file.filename == "":
        return page("Upload a file", "<p>No selected file.</p>"), 400
    filename = secure_filename(file.filename or "") or "upload"
    await file.save(UPLOAD_FOLDER / filename)
    flash(f"Uploaded {filename}.", "success")
    return redirect(url_for("upload_form"), code=303)


@app.get("/uploads/<path:filename>")
async def download(filename):
    """A file from the upload folder, as an attachment; ``..`` and other
    ways out of the folder are a 404."""
    return send_from_directory(UPLOAD_FOLDER, filename, as_attachment=True)


@app.get("/report")
async def report():
    """``send_file`` of an in-memory file, with a download name."""
    buffer = io.BytesIO(b"Report content\n")
    return send_file(buffer, mimetype="text/plain", as_attachment=True, download_name="report.txt")


# -- server-sent events --------------------------------------------------------

CLOCK_PAGE = """
<p>The server sends the time once a second; the browser's <code>EventSource</code>
shows each event as it arrives (and reconnects by itself).</p>
<p id=clock>Waiting for the first event...</p>
<ol id=log></ol>
<script>
const source = new EventSource("/clock/events");
source.addEventListener("tick", (event) => {
  const data = JSON.parse(event.data);
  document.getElementById("clock").textContent = data.time;
  const item = document.createElement("li");
  item.textContent = `#${event.lastEventId}: ${data.time}`;
  document.getElementById("log").prepend(item);
});
</script>
"""


@app.get("/clock")
async def clock():
    """A page that shows server-sent events live."""
    return page("Live clock", Markup(CLOCK_PAGE))


@app.get("/clock/events")
async def clock_events():
    """One ``tick`` event a second (``?count=N`` stops after N), carrying on
    from ``Last-Event-ID`` when the browser reconnects. The generator is
    closed when the browser goes away."""
    count = request.args.get("count", type=int)
    first = int(request.headers.get("Last-Event-ID", "-1")) + 1

    async def ticks():
        for n in itertools.count(first):
            if count is not None and n - first >= count:
                return
            if n > first:
                await asyncio.sleep(1)
            yield ServerSentEvent({"time": time.strftime("%H:%M:%S")}, event="tick", id=n)

    return EventStream(ticks(), ping=15)


# -- chat on a broadcast channel ----------------------------------------------

#: One process by default; ``BROADCAST_URL=redis://127.0.0.1:6379/0`` shares
#: the chat between workers (``asyncflask run --workers 4``) and machines.
channel = Broadcast(os.environ.get("BROADCAST_URL", "memory://"), history=100)
channel.init_app(app)

CHAT_PAGE = """
<form id=chat method=post action=/chat>
  <p><input name=name maxlength=40 placeholder="Your name">
  <input name=text maxlength=500 required autocomplete=off placeholder=Message>
  <button type=submit>Send</button></p>
</form>
<ul id=messages></ul>
<script>
const source = new EventSource("/chat/events");
source.onopen = () => { document.body.dataset.chat = "open"; };
source.addEventListener("chat", (event) => {
  const message = JSON.parse(event.data);
  const item = document.createElement("li");
  item.textContent = `${message.name}: ${message.text}`;
  document.getElementById("messages").append(item);
});
document.getElementById("chat").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = new FormData(form);
  form.text.value = "";
  await fetch(form.action, {method: "POST", body, headers: {Accept: "application/json"}});
});
</script>
"""


@app.get("/chat")
async def chat():
    """The chat page: messages come as server-sent events."""
    return page("Chat", Markup(CHAT_PAGE))


@app.post("/chat")
async def chat_post():
    """Publish a message to every chat page, on every worker. JSON for the
    page's script, a redirect back for a plain form post."""
    form = await request.form
    text = form.get("text", "").strip()
    name = form.get("name", "").strip() or session.get("user") or "anonymous"
    if not text or len(text) > 500 or len(name) > 40:
        return {"error": "a message needs a text of at most 500 characters"}, 400
    try:
        event_id = await channel.publish(
            "chat", ServerSentEvent({"name": name, "text": text}, event="chat")
        )
    except ConnectionError:
        return {"error": "the chat is unavailable, try again"}, 503
    if request.accept_mimetypes.best == "application/json":
        return {"id": event_id}
    return redirect(url_for("chat"), code=303)


@app.get("/chat/events")
async def chat_events():
    """The chat's messages as they are posted; a browser that reconnects
    sends ``Last-Event-ID`` and gets what it missed first."""
    last = request.headers.get("Last-Event-ID")
    return EventStream(channel.subscribe("chat", last_event_id=last), ping=15)


# -- websocket chat rooms ------------------------------------------------------

ROOM_PAGE = """
<p>Room <b>{room}</b>. Open this page in another tab and talk to yourself.</p>
<form id=say><input id=text autocomplete=off maxlength=500> <button>Send</button></form>
<ul id=log></ul>
<script>
const socket = new WebSocket({url});
const log = (text) => {{
  const item = document.createElement("li");
  item.textContent = text;
  document.getElementById("log").append(item);
}};
socket.onmessage = (event) => {{
  const message = JSON.parse(event.data);
  log(`${{message.from}}: ${{message.text}}`);
}};
socket.onclose = (event) => log(`(closed: ${{event.code}})`);
document.getElementById("say").onsubmit = (event) => {{
  event.preventDefault();
  const input = document.getElementById("text");
  if (input.value) socket.send(input.value);
  input.value = "";
}};
</script>
"""

_guests = itertools.count(1)


def room_channel(room):
    """The broadcast room that carries the websocket room ``room`` (kept
    apart from the chat's, ``"chat"``)."""
    return f"rooms:{room}"


@app.get("/rooms/<room>")
async def room_page(room):
    """The chat page of ``room``; its script talks to the websocket below."""
    url = url_for("room_socket", room=room, _external=True)
    html = ROOM_PAGE.format(room=escape(room), url=json.dumps(url))
    return page(f"Chat: {room}", Markup(html))


@app.websocket("/rooms/<room>")
async def room_socket(room):
    """Each text message goes to everyone in the room, as JSON
    ``{"from": name, "text": ...}``. The name is the logged-in user's.

    The room is a room of the broadcast channel: a message is published to
    it, and each socket forwards what it brings, so the people in a room
    may be connected to different workers (with ``BROADCAST_URL=redis://``).
    """
    name = session.get("user") or f"guest-{next(_guests)}"
    await websocket.accept()
    joined = {"from": "server", "text": f"{name} joined"}
    try:
        last = await channel.publish(room_channel(room), {"data": joined})
    except ConnectionError:
        await websocket.close(1013, "the rooms are unavailable, try again")
        return
    await websocket.send_json(joined)
    # everything published after our "joined", none missed in between
    events = channel.subscribe(room_channel(room), last_event_id=last)
    forward = asyncio.create_task(
        room_forward(events, websocket._get_current_object()), name=f"room {room}: {name}"
    )
    try:
        while True:
            text = await websocket.receive()
            if isinstance(text, str) and text.strip():
                await room_say(room, name, text[:500])
    finally:
        forward.cancel()
        await asyncio.gather(forward, return_exceptions=True)
        await events.aclose()
        with contextlib.suppress(ConnectionError):
            await channel.publish(
                room_channel(room), {"data": {"from": "server", "text": f"{name} left"}}
            )


async def room_forward(events, socket):
    """Send the room's messages to one socket. When the channel ends the
    subscription (the server stops, or the socket fell too far behind),
    close the socket: the page says so, and may reconnect."""
    async for event in events:
        await socket.send(event.data)
    await socket.close(1001, "the room's channel closed")


async def room_say(room, sender, text):
    """Publish a message to ``room``, on every worker; when the channel is
    unavailable, say so to the sender only."""
    try:
        await channel.publish(room_channel(room), {"data": {"from": sender, "text": text}})
    except ConnectionError:
        await websocket.send_json({"from": "server", "text": "not sent, try again"})


# -- the admin blueprint -------------------------------------------------------

admin = Blueprint("admin", __name__, url_prefix="/admin")


@admin.route("/")
async def admin_index():
    """The blueprint's own index (``/admin/``)."""
    return page("Admin", f"<p><a href='{url_for('.users')}'>Users</a></p>")


@admin.route("/users")
async def users():
    """What the request knows about the blueprint."""
    return {
        "blueprint": request.blueprint,
        "blueprints": request.blueprints,
        "endpoint": request.endpoint,
        "users": [user["name"] for user in USERS.values()],
    }


@admin.after_request
async def mark_admin(response):
    """Only the blueprint's responses get this header."""
    response.headers["X-Admin"] = "true"
    return response


app.register_blueprint(admin)


# -- hooks and error handlers --------------------------------------------------


@app.after_request
async def add_header(response):
    """Every response says who served it."""
    response.headers["X-Served-By"] = "asyncflask-example"
    return response


@app.errorhandler(404)
async def not_found(e):
    """JSON for the API, an HTML page for everything else."""
    if request.path.startswith("/api/"):
        return {"error": "not found", "path": request.path}, 404
    body = f"<p>There is no page at <code>{escape(request.path)}</code>.</p>"
    return page("Not found", body), 404
