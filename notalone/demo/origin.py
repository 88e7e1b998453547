"""The demo's origin server: its pages over HTTP and its chats over a WebSocket, on loopback only."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

from aiohttp import WSMsgType, web

from notalone.demo import Chat, Page

CHAT_REPLY_TIMEOUT_S = 60.0


def chat_message(chat: Chat, sender: str, text: str) -> str:
    """One message as a chat app would send it: sender, conversation id and text in a JSON object."""
    return json.dumps(
        {"type": "message", "chat_id": chat.conversation, "from": sender, "text": text}, ensure_ascii=False
    )


def make_app(pages: list[Page], chats: list[Chat]) -> web.Application:
    by_path = {page.path: page for page in pages}
    by_conversation = {chat.conversation: chat for chat in chats}

    async def index(request: web.Request) -> web.Response:
        links = "".join(f'<li><a href="{p.path}">{p.path[1:]}</a></li>' for p in pages)
        return web.Response(
            text=f"<!doctype html><title>Demo sites</title><ul>{links}</ul>",
            content_type="text/html",
            charset="utf-8",
        )

    async def page(request: web.Request) -> web.Response:
        found = by_path.get(request.path)
        if found is None:
            raise web.HTTPNotFound()
        return web.Response(
            text=found.html,
            content_type="text/html",
            charset="utf-8",
            headers={"content-language": found.lang},
        )

    async def chat(request: web.Request) -> web.WebSocketResponse:
        """Play the peer's side of the script: its turns are sent, the child's are awaited."""
        script = by_conversation.get(request.match_info["conversation"])
        if script is None:
            raise web.HTTPNotFound()
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        for speaker, text in script.turns:
            if speaker == "peer":
                await ws.send_str(chat_message(script, script.peer, text))
                continue
            reply = await ws.receive(timeout=CHAT_REPLY_TIMEOUT_S)
            if reply.type != WSMsgType.TEXT:
                break
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/chat/dm/{conversation}", chat)
    for path in by_path:
        app.router.add_get(path, page)
    return app


@dataclass
class RunningOrigin:
    runner: web.AppRunner
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_origin(pages: list[Page], chats: list[Chat], port: int = 0) -> RunningOrigin:
    """Serve on 127.0.0.1 (a free port unless ``port`` is given) in the running event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))  # bound here so that the port the OS chose is known
    runner = web.AppRunner(make_app(pages, chats), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return RunningOrigin(runner, sock.getsockname()[1])
