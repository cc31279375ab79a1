"""The tunnel's record layer (docs/protocol.md "Records") in Python, for the
e2e tests that play a party of the protocol: the key schedule, sealing and
opening records, and cutting a byte stream into records. Crypto from the
`cryptography` package (HKDF-SHA256, ChaCha20-Poly1305), never by hand."""

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

OVERHEAD = 19  # 3 length bytes + 16 tag bytes


def server_proof(secret, client_nonce, session, server_nonce):
    """X-SoFW-Server-Signature of a 200 that carries X-SoFW-Server-Nonce."""
    msg = f"SOFW1-SERVER-KEYS\n{client_nonce}\n{session}\n{server_nonce}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def derive_keys(secret, session, client_nonce, server_nonce):
    """{'up': (key, iv), 'down': (key, iv)} for one session."""
    salt = bytes.fromhex(session) + bytes.fromhex(client_nonce) + bytes.fromhex(server_nonce)
    keys = {}
    for direction in ("up", "down"):
        okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=salt,
                   info=f"sofw1 {direction}".encode()).derive(secret)
        keys[direction] = (okm[:32], okm[32:])
    return keys


def _nonce(iv, seq):
    return bytes(a ^ b for a, b in zip(iv, b"\0\0\0\0" + struct.pack("!Q", seq)))


class Sealer:
    """Records of one direction, sequence 0, 1, 2, ..."""

    def __init__(self, key_iv):
        self.aead = ChaCha20Poly1305(key_iv[0])
        self.iv = key_iv[1]
        self.seq = 0

    def seal(self, plaintext):
        hdr = struct.pack("!I", len(plaintext))[1:]
        record = hdr + self.aead.encrypt(_nonce(self.iv, self.seq), plaintext, hdr)
        self.seq += 1
        return record


class Opener:
    """Opens the records of one direction from a byte stream cut anywhere;
    raises ValueError on a record that fails (the session must end)."""

    def __init__(self, key_iv):
        self.aead = ChaCha20Poly1305(key_iv[0])
        self.iv = key_iv[1]
        self.seq = 0
        self.buf = b""

    def feed(self, data):
        """The plaintexts of the whole records now in the buffer."""
        self.buf += data
        out = []
        for record in split_records(self):
            try:
                out.append(self.aead.decrypt(_nonce(self.iv, self.seq), record[3:], record[:3]))
            except Exception as e:
                raise ValueError(f"record {self.seq} failed: {e!r}")
            self.seq += 1
        return out


def split_records(holder):
    """Cuts whole records off the front of holder.buf (anything with .buf)."""
    records = []
    while len(holder.buf) >= 3:
        n = int.from_bytes(holder.buf[:3], "big")
        if len(holder.buf) < n + OVERHEAD:
            break
        records.append(holder.buf[:n + OVERHEAD])
        holder.buf = holder.buf[n + OVERHEAD:]
    return records
