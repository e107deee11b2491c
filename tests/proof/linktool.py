#!/usr/bin/env python3
"""tests/proof/linktool.py - small network helpers for tests/proof/bad_link.sh.

  linktool.py relay DELAY_MS LHOST:LPORT=THOST:TPORT ...
      A TCP delay line: forwards each connection to its target and holds every
      chunk DELAY_MS milliseconds in each direction (order kept). Used only when
      the kernel has no netem, to add the one-way delay netem would add.
  linktool.py serve DIR HOST PORT
      Receives split bundle pieces: a piece is written to DIR/.NAME.part and
      renamed to DIR/NAME only once complete, so a piece cut in flight leaves
      nothing. Logs "got NAME BYTES" / "partial NAME GOT/SIZE" on stdout.
  linktool.py send HOST PORT FILE...
      Sends the pieces the receiver does not hold yet, in order, one connection
      each; stops at the first failure (exit 1). Prints "have NAME",
      "sent NAME BYTES SECONDS", or "cut NAME after BYTES/SIZE".

Everything is bounded: sockets time out (SOCK_TIMEOUT s), and the shell
script starts servers under `timeout` and stops them by pid.
"""
import asyncio
import os
import socket
import sys
import time

SOCK_TIMEOUT = int(os.environ.get("LINKTOOL_TIMEOUT", "15"))
CHUNK = 1024


def relay(delay_ms, maps):
    delay = delay_ms / 1000.0

    async def pump(reader, writer):
        queue = asyncio.Queue()

        async def feed():
            try:
                while True:
                    data = await reader.read(65536)
                    await queue.put((time.monotonic() + delay, data))
                    if not data:
                        return
            except (ConnectionError, OSError):
                await queue.put((time.monotonic() + delay, b""))

        async def drain():
            try:
                while True:
                    due, data = await queue.get()
                    wait = due - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    if not data:
                        if writer.can_write_eof():
                            writer.write_eof()
                        return
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                return

        await asyncio.gather(feed(), drain())

    def handler_for(thost, tport):
        async def handle(creader, cwriter):
            try:
                sreader, swriter = await asyncio.wait_for(asyncio.open_connection(thost, tport), SOCK_TIMEOUT)
            except (OSError, asyncio.TimeoutError):
                cwriter.close()
                return
            await asyncio.gather(pump(creader, swriter), pump(sreader, cwriter))
            for w in (cwriter, swriter):
                try:
                    w.close()
                except OSError:
                    pass

        return handle

    async def main():
        servers = []
        for m in maps:
            left, right = m.split("=")
            lhost, lport = left.rsplit(":", 1)
            thost, tport = right.rsplit(":", 1)
            servers.append(await asyncio.start_server(handler_for(thost, int(tport)), lhost, int(lport)))
        print("relay ready", flush=True)
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


def recv_line(conn):
    line = b""
    while not line.endswith(b"\n"):
        b = conn.recv(1)
        if not b:
            raise ConnectionError("closed")
        line += b
        if len(line) > 1024:
            raise ValueError("line too long")
    return line.decode().strip()


def safe_name(name):
    if not name or "/" in name or name.startswith("."):
        raise ValueError("bad name")
    return name


def serve(folder, host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(4)
    print("serve ready", flush=True)
    while True:
        conn, _ = s.accept()
        conn.settimeout(SOCK_TIMEOUT)
        name, size, got = "?", 0, 0
        try:
            words = recv_line(conn).split()
            if words[0] == "HAVE":
                name = safe_name(words[1])
                conn.sendall(b"yes\n" if os.path.exists(os.path.join(folder, name)) else b"no\n")
            elif words[0] == "PUT":
                name, size = safe_name(words[1]), int(words[2])
                part = os.path.join(folder, "." + name + ".part")
                with open(part, "wb") as f:
                    while got < size:
                        data = conn.recv(min(65536, size - got))
                        if not data:
                            raise ConnectionError("closed")
                        f.write(data)
                        got += len(data)
                os.rename(part, os.path.join(folder, name))
                conn.sendall(b"ok\n")
                print("got %s %d" % (name, size), flush=True)
        except (OSError, ValueError, IndexError, ConnectionError):
            if size:
                print("partial %s %d/%d" % (name, got, size), flush=True)
        finally:
            conn.close()


def send(host, port, files):
    for path in files:
        name = os.path.basename(path)
        size = os.path.getsize(path)
        sent = 0
        t0 = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=SOCK_TIMEOUT) as c:
                c.sendall(("HAVE %s\n" % name).encode())
                if recv_line(c) == "yes":
                    print("have %s" % name, flush=True)
                    continue
            with socket.create_connection((host, port), timeout=SOCK_TIMEOUT) as c, open(path, "rb") as f:
                c.sendall(("PUT %s %d\n" % (name, size)).encode())
                while True:
                    data = f.read(CHUNK)
                    if not data:
                        break
                    c.sendall(data)
                    sent += len(data)
                # the last bytes may still be queued: allow for them to drain
                # at 4 KB/s (half of 64 kbit/s) before waiting for the answer
                c.settimeout(SOCK_TIMEOUT + size / 4000)
                if recv_line(c) != "ok":
                    raise ConnectionError("not acknowledged")
            print("sent %s %d %.1f" % (name, size, time.monotonic() - t0), flush=True)
        except (OSError, ConnectionError, ValueError):
            print("cut %s after %d/%d" % (name, sent, size), flush=True)
            return 1
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) >= 2 and a[0] == "relay":
        relay(int(a[1]), a[2:])
    elif len(a) == 4 and a[0] == "serve":
        serve(a[1], a[2], int(a[3]))
    elif len(a) >= 4 and a[0] == "send":
        sys.exit(send(a[1], int(a[2]), a[3:]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
