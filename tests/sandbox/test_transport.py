"""The sandbox's HTTP transport: fast enough that fault tests can page through thousands of rows."""

from __future__ import annotations

import socket

from sandbox.httpbase import HttpServer, Response, _RequestHandler


def test_sandbox_handler_turns_nagle_off_for_every_connection():
    """Responses are not held back ~40 ms per keep-alive call waiting for a delayed ACK."""
    assert True is _RequestHandler.disable_nagle_algorithm


def test_sandbox_serves_keep_alive_requests_on_a_no_delay_socket():
    """Two requests on one connection both get their answers (TCP_NODELAY keeps keep-alive)."""
    server = HttpServer(lambda request: Response(200, request.path.encode()))
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as conn:
            answers = []
            for path in ("/one", "/two"):
                conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                data = b""
                while not data.endswith(path.encode()):
                    data += conn.recv(4096)
                answers.append(data.rsplit(b"\r\n\r\n", 1)[1])
    finally:
        server.close()
    assert [b"/one", b"/two"] == answers
