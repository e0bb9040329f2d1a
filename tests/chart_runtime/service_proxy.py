"""A Service's virtual IP, as kube-proxy gives it: listen on each service port, forward to the pod's
target port. Runs in its own container (stdlib only). Usage: service_proxy.py PORT=HOST:TARGET ..."""

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def _forwarder(host: str, port: int):
    async def forward(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()  # no ready endpoint: the connection is refused, as with kube-proxy
            return
        await asyncio.gather(_pipe(client_reader, writer), _pipe(reader, client_writer))
    return forward


async def main(rules: list[str]) -> None:
    servers = []
    for rule in rules:
        listen, target = rule.split("=")
        host, port = target.rsplit(":", 1)
        servers.append(await asyncio.start_server(_forwarder(host, int(port)), "0.0.0.0", int(listen)))
    print("service proxy:", " ".join(rules), flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
