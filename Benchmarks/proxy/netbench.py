#!/usr/bin/env python3
"""Clients and servers for Benchmarks/proxy-bench.sh (standard library only).

    netbench.py patterns N                      N random 20-character alphanumeric patterns, one a line
    netbench.py hold-server PORT                accepts and holds connections (reads and discards,
                                                closes on EOF); prints "listening" once bound
    netbench.py hold-clients PORT N [--concurrency C] [--hello BYTES]
                                                opens N connections to 127.0.0.1:PORT, sends BYTES on
                                                each, prints "ready opened=… failed=…" and holds them
                                                until SIGTERM/SIGINT, then closes them and exits 0
    netbench.py echo-server PORT                echoes every byte back (TCP_NODELAY, a thread per
                                                connection); prints "listening" once bound
    netbench.py rtt NAME=PORT... [--count N] [--size BYTES] [--warmup N]
                                                one connection per target (TCP_NODELAY); round trips
                                                of BYTES taken in turn on each connection, so every
                                                path sees the same load; prints per target
                                                "NAME p50_us p99_us mean_us max_us count"
    netbench.py probe PORT TEXT                 sends TEXT on a new connection and says whether it
                                                came back ("echoed") or the connection was closed
                                                first ("closed")

Every address is 127.0.0.1.
"""
import asyncio
import os
import secrets
import selectors
import signal
import socket
import string
import sys
import threading
import time

HOST = "127.0.0.1"


def patterns(count):
    alphabet = string.ascii_letters + string.digits
    for _ in range(count):
        print("".join(secrets.choice(alphabet) for _ in range(20)))


def listener(port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, port))
    server.listen(4096)
    return server


def hold_server(port):
    """Accepts without limit and keeps every connection open until its peer closes it."""
    server = listener(port)
    server.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, None)
    print("listening", flush=True)
    while True:
        for key, _ in selector.select():
            if key.data is None:
                while True:
                    try:
                        connection, _ = server.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as error:  # out of descriptors: leave the rest in the backlog
                        print(f"accept failed: {error}", file=sys.stderr, flush=True)
                        time.sleep(0.05)
                        break
                    connection.setblocking(False)
                    selector.register(connection, selectors.EVENT_READ, True)
            else:
                connection = key.fileobj
                try:
                    data = connection.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(connection)
                    connection.close()


async def hold_clients(port, count, concurrency, hello):
    """Opens `count` connections (at most `concurrency` connecting at once), then holds them."""
    writers = []
    failures = {}
    gate = asyncio.Semaphore(concurrency)
    payload = b"x" * hello

    async def open_one():
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 30)
                if payload:
                    writer.write(payload)
                    await writer.drain()
                writers.append((reader, writer))
            except (OSError, asyncio.TimeoutError) as error:
                name = type(error).__name__ + (f" errno {error.errno}" if getattr(error, "errno", None) else "")
                failures[name] = failures.get(name, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(open_one() for _ in range(count)))
    seconds = time.monotonic() - started
    # A connection the proxy refused or reset shortly after accepting it shows up as EOF.
    await asyncio.sleep(1)
    closed = sum(1 for reader, _ in writers if reader.at_eof())
    detail = " ".join(f"[{name}: {n}]" for name, n in sorted(failures.items()))
    print(f"ready opened={len(writers)} failed={count - len(writers)} closed_by_peer={closed} "
          f"seconds={seconds:.1f} {detail}".rstrip(), flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for _, writer in writers:
        writer.close()
    await asyncio.sleep(0.2)


def echo_server(port):
    server = listener(port)
    print("listening", flush=True)

    def serve(connection):
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with connection:
            try:
                while True:
                    data = connection.recv(65536)
                    if not data:
                        return
                    connection.sendall(data)
            except OSError:
                return

    while True:
        connection, _ = server.accept()
        threading.Thread(target=serve, args=(connection,), daemon=True).start()


def connect(port):
    connection = socket.create_connection((HOST, port), timeout=10)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def round_trip(connection, message, view, size):
    connection.sendall(message)
    received = 0
    while received < size:
        n = connection.recv_into(view[received:], size - received)
        if n == 0:
            raise ConnectionError("closed by the peer")
        received += n


def percentile(sorted_values, fraction):
    """Nearest-rank percentile."""
    rank = max(1, -(-int(fraction * 1000) * len(sorted_values) // 1000))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def rtt(targets, count, size, warmup):
    message = os.urandom(size)
    buffer = bytearray(size)
    view = memoryview(buffer)
    connections = [(name, connect(port)) for name, port in targets]
    for _ in range(warmup):
        for _, connection in connections:
            round_trip(connection, message, view, size)
            if bytes(buffer) != message:
                raise SystemExit("echo answered other bytes")
    samples = {name: [] for name, _ in connections}
    clock = time.perf_counter_ns
    for _ in range(count):
        for name, connection in connections:
            start = clock()
            round_trip(connection, message, view, size)
            samples[name].append(clock() - start)
    for name, connection in connections:
        connection.close()
        values = sorted(samples[name])
        print(f"{name} {percentile(values, 0.50) / 1000:.1f} {percentile(values, 0.99) / 1000:.1f} "
              f"{sum(values) / len(values) / 1000:.1f} {values[-1] / 1000:.1f} {len(values)}")


def probe(port, text):
    connection = connect(port)
    message = text.encode()
    try:
        connection.sendall(message)
        received = b""
        while len(received) < len(message):
            data = connection.recv(65536)
            if not data:
                break
            received += data
    except OSError:
        received = b""
    finally:
        connection.close()
    print("echoed" if received == message else "closed")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    command, args = argv[1], argv[2:]
    options = {}
    positional = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            options[args[i][2:]] = args[i + 1]
            i += 2
        else:
            positional.append(args[i])
            i += 1
    if command == "patterns":
        patterns(int(positional[0]))
    elif command == "hold-server":
        hold_server(int(positional[0]))
    elif command == "hold-clients":
        asyncio.run(hold_clients(int(positional[0]), int(positional[1]),
                                 int(options.get("concurrency", 200)), int(options.get("hello", 64))))
    elif command == "echo-server":
        echo_server(int(positional[0]))
    elif command == "rtt":
        targets = [(item.split("=", 1)[0], int(item.split("=", 1)[1])) for item in positional]
        rtt(targets, int(options.get("count", 10000)), int(options.get("size", 64)), int(options.get("warmup", 500)))
    elif command == "probe":
        probe(int(positional[0]), positional[1])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except KeyboardInterrupt:
        pass
