"""Communicators: how the long-running task of each worker exchanges numbers with the others,
without a round trip through the scheduler (the way XGBoost and cuML run on Dask).

A communicator has ``rank``, ``size`` and ``allgather(obj)``, which returns every rank's
``obj`` in rank order, the same list on every rank. :class:`SerialComm` is the one-process
case; :class:`SocketComm` joins the ranks over TCP, rank 0 in the middle (a star: every round
is one message to rank 0 and one back, about a millisecond between local processes).
"""

import pickle
import socket
import struct

_HEADER = struct.Struct("!Q")


class SerialComm:
    """One rank: allgather returns its own object."""

    rank, size = 0, 1

    def allgather(self, obj):
        return [obj]

    def close(self):
        pass


def _send(sock, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _receive_exactly(sock, size):
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise ConnectionError("a rank closed its connection")
        got += n
    return bytes(buffer)


def _receive(sock):
    (size,) = _HEADER.unpack(_receive_exactly(sock, _HEADER.size))
    return pickle.loads(_receive_exactly(sock, size))


class SocketComm:
    """``size`` ranks over TCP. Rank 0 listens on ``server`` (a bound, listening socket) and
    publishes its address with ``publish(host, port)``; the other ranks call ``lookup()`` to
    learn it and connect. ``timeout`` seconds bound every wait."""

    def __init__(self, rank, size, *, server=None, publish=None, lookup=None, timeout=120.0):
        self.rank, self.size = rank, size
        self._peers = []
        if rank == 0:
            publish(*server.getsockname()[:2])
            server.settimeout(timeout)
            peers = {}
            while len(peers) < size - 1:
                conn, _ = server.accept()
                conn.settimeout(timeout)
                peers[_receive(conn)] = conn
            server.close()
            self._peers = [peers[r] for r in range(1, size)]
        else:
            host, port = lookup()
            conn = socket.create_connection((host, port), timeout=timeout)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _send(conn, rank)
            self._peers = [conn]
        for conn in self._peers:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def allgather(self, obj):
        if self.rank == 0:
            everything = [obj] + [_receive(conn) for conn in self._peers]
            for conn in self._peers:
                _send(conn, everything)
            return everything
        _send(self._peers[0], obj)
        return _receive(self._peers[0])

    def close(self):
        for conn in self._peers:
            conn.close()
        self._peers = []
