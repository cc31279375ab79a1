#!/usr/bin/python3
"""Audio-content checks for the SoFW end-to-end tests.

A call "has audio" only if what one phone received is what the other phone
sent.  The phones send WAV files (aufile) and record what they decoded
(sndfile); this module makes the test signals and compares a recording with
the file that was sent:

  make_speech_wav(path, text, seconds)  espeak-ng speech, 8 kHz mono s16
  make_tone_wav(path, freq, seconds)    sox sine, 8 kHz mono s16
  read_wav(path) -> (rate, samples)     mono ints, tolerant of sndfile output
  rms(samples)
  dominant_frequency(samples, rate)     Goertzel scan, Hz
  envelope(samples, rate, frame_ms)     frame RMS values
  envelope_correlation(sent, received, rate, max_lag_ms) -> (corr, lag_ms)
  compare(sent_wav, received_wav, kind) -> dict with figures, "ok" verdict
                                           and a one-line "summary"

kind "tone":   the received dominant frequency is the sent one (within
               FREQ_TOL_REL or FREQ_TOL_HZ), the received audio is mostly
               that one frequency, and it is not silence.
kind "speech": the received envelope follows the sent one (Pearson
               correlation >= MIN_SPEECH_CORR at a lag within MAX_LAG_MS)
               and it is not silence.

Standard library only (Debian's /usr/bin/python3), plus the sox and
espeak-ng commands.  `python3 audio.py SENT RECEIVED [tone|speech]` prints
compare() for two files.
"""

import math
import os
import struct
import subprocess
import sys
import tempfile
from array import array

RATE = 8000                  # G.711 narrowband: what aufile sends as is

# -- thresholds -------------------------------------------------------------
# All levels are in s16 units (full scale 32767).

# Below this a frame (or a whole recording) counts as silence.  The test
# signals are made at about -20 dBFS (RMS ~2000-10000); G.711 passes them at
# the same level, while a silent G.711 stream decodes to a few units.  200 is
# about -44 dBFS: far above codec idle noise, far below any real signal.
SILENCE_RMS = 200.0

# Tone: G.711 does not shift frequencies; the tolerance only absorbs the
# analysis resolution.  ±2% still separates neighbouring DTMF tones (697,
# 770, 852, 941 Hz are 9-10% apart), so a wrong tone cannot pass.
FREQ_TOL_REL = 0.02
FREQ_TOL_HZ = 10.0

# Tone: share of the received energy in the main lobe around the dominant
# frequency.  A sine through G.711 gives > 0.95; speech or noise spreads its
# energy and stays well below 0.5, so speech that happens to have energy near
# the expected frequency still fails.
MIN_TONE_PURITY = 0.5

# Speech: Pearson correlation of the 20 ms RMS envelopes.  A clean G.711
# path gives ~1.0; 0.8 leaves room for a few lost or concealed packets and
# jitter-buffer adjustments, while unrelated audio (another phrase, a
# tone, noise) stays far below.
MIN_SPEECH_CORR = 0.8

# Speech: the received audio may start earlier or later than the file
# (jitter buffer, packets sent before the receiver's stream was set up).
# One second is generous for that, yet shorter than the test phrase, so the
# repeated phrase cannot line up with itself at a wrong lag.
MAX_LAG_MS = 1000

# Speech: at least this much overlap of sent and received envelopes, so a
# short fragment cannot reach a high correlation by chance.
MIN_OVERLAP_S = 2.0

ENVELOPE_FRAME_MS = 20       # one RTP packet of G.711 at ptime 20

# Frequency analysis: windows of this many samples (128 ms at 8 kHz, main
# lobe of the Hann window ±15.6 Hz), a coarse scan at 10 Hz steps refined
# at 1 Hz steps.  A few windows keep it well under a second of CPU.
DFT_WINDOW = 1024
DFT_MAX_WINDOWS = 4
COARSE_STEP_HZ = 10


# -- making test signals ------------------------------------------------------

def _sox(*args):
    subprocess.run(["sox", *map(str, args)], check=True,
                   capture_output=True)


def _duration(path):
    r = subprocess.run(["sox", "--i", "-D", path], check=True,
                       capture_output=True, text=True)
    return float(r.stdout.strip())


def make_speech_wav(path, text, seconds, gap=0.3):
    """espeak-ng speaks `text`; sox makes it 8 kHz mono s16, trims the
    leading silence (content starts at once), normalises to -3 dBFS peak,
    repeats the phrase (with `gap` s of silence between copies) and
    pads/cuts to exactly `seconds`.  Returns `path`."""
    with tempfile.TemporaryDirectory(prefix="sofw-speech-") as tmp:
        raw = os.path.join(tmp, "espeak.wav")
        one = os.path.join(tmp, "phrase.wav")
        subprocess.run(["espeak-ng", "-w", raw, text], check=True,
                       capture_output=True)
        _sox(raw, "-r", RATE, "-c", 1, "-b", 16, one,
             "silence", 1, 0.02, "0.5%", "gain", "-n", -3)
        phrase = _duration(one)
        if phrase <= 0:
            raise RuntimeError(f"espeak-ng produced no speech for {text!r}")
        repeats = max(0, math.ceil(seconds / (phrase + gap)) - 1)
        _sox(one, "-b", 16, path, "pad", 0, gap, "repeat", repeats,
             "pad", 0, seconds, "trim", 0, seconds)
    return path


def make_tone_wav(path, freq, seconds, volume=0.5):
    """A sine of `freq` Hz, 8 kHz mono s16, amplitude `volume` of full
    scale (0.5: about -9 dBFS RMS, no clipping in G.711).  Returns `path`."""
    _sox("-n", "-r", RATE, "-c", 1, "-b", 16, path,
         "synth", seconds, "sine", freq, "vol", volume)
    return path


# -- reading ------------------------------------------------------------------

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_FLOAT = 0x0003
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def read_wav(path):
    """Read a WAV file; returns (rate, samples) with samples a list of ints
    in s16 range, channels mixed down to mono.

    Handles PCM 8/16/24/32 bit, float 32/64 and WAVE_FORMAT_EXTENSIBLE
    (Python's wave module knows only plain PCM).  A data chunk whose size
    is still the placeholder of a file not yet closed (libsndfile writes
    the sizes on sf_close) is read up to the end of the file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF/WAVE file")
    pos = 12
    fmt = None
    pcm = None
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt ":
            tag, channels, rate, _, _, bits = struct.unpack_from(
                "<HHIIHH", data, body)
            if tag == _WAVE_FORMAT_EXTENSIBLE and size >= 40:
                tag = struct.unpack_from("<H", data, body + 24)[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            end = body + size
            if size == 0 or end > len(data):
                end = len(data)
            pcm = data[body:end]
            break
        pos = body + size + (size & 1)
    if fmt is None or pcm is None:
        raise ValueError(f"{path}: no fmt or data chunk")
    tag, channels, rate, bits = fmt
    width = bits // 8
    if channels < 1 or width < 1:
        raise ValueError(f"{path}: bad format {fmt}")
    pcm = pcm[:len(pcm) - len(pcm) % (width * channels)]

    if tag == _WAVE_FORMAT_PCM and width == 2:
        a = array("h")
        a.frombytes(pcm)
        if sys.byteorder == "big":
            a.byteswap()
        values = a.tolist()
    elif tag == _WAVE_FORMAT_PCM and width == 1:
        values = [(b - 128) << 8 for b in pcm]
    elif tag == _WAVE_FORMAT_PCM and width in (3, 4):
        shift = 8 * (width - 2)
        values = [int.from_bytes(pcm[i:i + width], "little", signed=True)
                  >> shift for i in range(0, len(pcm), width)]
    elif tag == _WAVE_FORMAT_FLOAT and width in (4, 8):
        code = "f" if width == 4 else "d"
        floats = struct.unpack(f"<{len(pcm) // width}{code}", pcm)
        values = [max(-32768, min(32767, int(round(v * 32767))))
                  for v in floats]
    else:
        raise ValueError(f"{path}: unsupported WAV format {fmt}")

    if channels > 1:
        values = [sum(values[i:i + channels]) // channels
                  for i in range(0, len(values), channels)]
    return rate, values


# -- analysis -----------------------------------------------------------------

def rms(samples):
    if not samples:
        return 0.0
    return math.sqrt(math.fsum(x * x for x in samples) / len(samples))


def envelope(samples, rate, frame_ms=ENVELOPE_FRAME_MS):
    """RMS of consecutive frames of `frame_ms` (a last partial frame is
    dropped)."""
    n = max(1, int(rate * frame_ms / 1000))
    return [rms(samples[i:i + n]) for i in range(0, len(samples) - n + 1, n)]


def _pearson(x, y):
    n = len(x)
    if n < 2:
        return 0.0
    mx = math.fsum(x) / n
    my = math.fsum(y) / n
    sxy = sxx = syy = 0.0
    for a, b in zip(x, y):
        a -= mx
        b -= my
        sxy += a * b
        sxx += a * a
        syy += b * b
    if sxx <= 0.0 or syy <= 0.0:
        return 0.0          # a constant envelope follows nothing
    return sxy / math.sqrt(sxx * syy)


def envelope_correlation(sent, received, rate, max_lag_ms=MAX_LAG_MS,
                         frame_ms=ENVELOPE_FRAME_MS,
                         min_overlap_s=MIN_OVERLAP_S):
    """Best Pearson correlation of the frame-RMS envelopes of `sent` and
    `received` (sample lists at `rate`) over lags within ±max_lag_ms, each
    over the overlapping part only.  Returns (best_corr, lag_ms); a
    positive lag means the received audio comes later than the sent.
    Lags leaving less than `min_overlap_s` of overlap are not considered;
    (0.0, 0) when none is left."""
    es = envelope(sent, rate, frame_ms)
    er = envelope(received, rate, frame_ms)
    max_lag = int(max_lag_ms // frame_ms)
    min_frames = max(2, int(min_overlap_s * 1000 / frame_ms))
    best, best_lag = 0.0, 0
    found = False
    for lag in range(-max_lag, max_lag + 1):
        # sent frame i is compared with received frame i + lag
        start = max(0, -lag)
        end = min(len(es), len(er) - lag)
        if end - start < min_frames:
            continue
        c = _pearson(es[start:end], er[start + lag:end + lag])
        if not found or c > best:
            best, best_lag, found = c, lag, True
    return best, best_lag * frame_ms


def _windows(samples, rate, n=DFT_WINDOW, count=DFT_MAX_WINDOWS):
    """Up to `count` non-silent windows of `n` samples, spread over the
    signal, each with its mean removed and a Hann window applied."""
    blocks = [i for i in range(0, len(samples) - n + 1, n)
              if rms(samples[i:i + n]) > SILENCE_RMS]
    if not blocks:
        return []
    if len(blocks) > count:
        blocks = [blocks[(2 * k + 1) * len(blocks) // (2 * count)]
                  for k in range(count)]
    hann = [0.5 - 0.5 * math.cos(2 * math.pi * k / (n - 1))
            for k in range(n)]
    out = []
    for i in blocks:
        w = samples[i:i + n]
        m = sum(w) / n
        out.append([(v - m) * h for v, h in zip(w, hann)])
    return out


def _goertzel_power(x, freq, rate):
    """|X(freq)|^2 of the sequence x (any real frequency)."""
    c = 2.0 * math.cos(2.0 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    return s1 * s1 + s2 * s2 - c * s1 * s2


def _spectrum_peak(samples, rate, fmin=100, fmax=3500):
    """(frequency, purity) of the strongest sine in [fmin, fmax], or
    (None, 0.0) for silence.  Purity: share of the windows' energy within
    the main lobe (±rate/N) around the peak, 1.0 for a pure sine."""
    wins = _windows(samples, rate)
    if not wins:
        return None, 0.0
    fmax = min(fmax, rate / 2 - COARSE_STEP_HZ)

    def power(f):
        return sum(_goertzel_power(w, f, rate) for w in wins)

    f = fmin
    best_f, best_p = fmin, -1.0
    while f <= fmax:
        p = power(f)
        if p > best_p:
            best_f, best_p = f, p
        f += COARSE_STEP_HZ
    lo = max(fmin, best_f - COARSE_STEP_HZ)
    hi = min(fmax, best_f + COARSE_STEP_HZ)
    for f in range(int(lo), int(hi) + 1):
        p = power(f)
        if p > best_p:
            best_f, best_p = f, p
    # Parabolic interpolation between the 1 Hz neighbours.
    pl, pr = power(best_f - 1), power(best_f + 1)
    denom = pl - 2 * best_p + pr
    freq = best_f + (0.5 * (pl - pr) / denom if denom < 0 else 0.0)

    # Parseval: the sum of |X_k|^2 over all N bins is N * energy; a sine
    # puts its energy into the bins f-d, f, f+d (Hann main lobe, d =
    # rate/N) and their mirror images, hence the factor 2.
    n = len(wins[0])
    d = rate / n
    lobe = power(freq - d) + power(freq) + power(freq + d)
    energy = sum(math.fsum(v * v for v in w) for w in wins)
    purity = 2.0 * lobe / (n * energy) if energy > 0 else 0.0
    return freq, min(1.0, purity)


def dominant_frequency(samples, rate, fmin=100, fmax=3500):
    """Frequency (Hz) of the strongest sine in [fmin, fmax] over a few
    non-silent windows; None if the signal is silent."""
    return _spectrum_peak(samples, rate, fmin, fmax)[0]


# -- comparison ---------------------------------------------------------------

def _voiced_seconds(samples, rate, frame_ms=ENVELOPE_FRAME_MS):
    return sum(1 for e in envelope(samples, rate, frame_ms)
               if e > SILENCE_RMS) * frame_ms / 1000.0


def compare(sent_wav, received_wav, kind):
    """Compare a received recording with the WAV file that was sent.

    kind "tone" or "speech" (see the module doc).  Returns a dict with the
    figures, "ok" (the verdict), "reasons" (why it failed) and "summary"
    (one line)."""
    if kind not in ("tone", "speech"):
        raise ValueError(f"kind must be 'tone' or 'speech', not {kind!r}")
    srate, sent = read_wav(sent_wav)
    rrate, recv = read_wav(received_wav)
    res = {
        "kind": kind,
        "sent_wav": sent_wav,
        "received_wav": received_wav,
        "rate": rrate,
        "sent_seconds": round(len(sent) / srate, 3),
        "received_seconds": round(len(recv) / rrate, 3),
        "sent_voiced_seconds": round(_voiced_seconds(sent, srate), 3),
        "received_voiced_seconds": round(_voiced_seconds(recv, rrate), 3),
        "sent_rms": round(rms(sent), 1),
        "received_rms": round(rms(recv), 1),
    }
    reasons = []
    if srate != rrate:
        reasons.append(f"sample rates differ ({srate} vs {rrate} Hz)")
    if res["received_rms"] <= SILENCE_RMS:
        reasons.append(f"received audio is silence (RMS "
                       f"{res['received_rms']} <= {SILENCE_RMS})")

    if kind == "tone":
        f_sent, _ = _spectrum_peak(sent, srate)
        f_recv, purity = _spectrum_peak(recv, rrate)
        res["sent_freq"] = None if f_sent is None else round(f_sent, 1)
        res["received_freq"] = None if f_recv is None else round(f_recv, 1)
        res["received_purity"] = round(purity, 3)
        if f_sent is None:
            reasons.append("sent file is silence")
        else:
            tol = max(FREQ_TOL_HZ, FREQ_TOL_REL * f_sent)
            res["freq_tolerance_hz"] = round(tol, 1)
            if f_recv is None:
                reasons.append("no frequency in the received audio")
            else:
                err = f_recv - f_sent
                res["freq_error_hz"] = round(err, 1)
                if abs(err) > tol:
                    reasons.append(f"received {f_recv:.1f} Hz, sent "
                                   f"{f_sent:.1f} Hz (tolerance "
                                   f"±{tol:.1f} Hz)")
            if purity < MIN_TONE_PURITY:
                reasons.append(f"received audio is not a pure tone (purity "
                               f"{purity:.2f} < {MIN_TONE_PURITY})")
        ok = not reasons
        detail = (f"sent {res['sent_freq']} Hz, received "
                  f"{res['received_freq']} Hz, purity {purity:.2f}")
    else:
        corr, lag = envelope_correlation(sent, recv, rrate)
        res["correlation"] = round(corr, 3)
        res["lag_ms"] = lag
        if corr < MIN_SPEECH_CORR:
            reasons.append(f"envelope correlation {corr:.3f} < "
                           f"{MIN_SPEECH_CORR} (best lag {lag} ms, "
                           f"max ±{MAX_LAG_MS} ms)")
        ok = not reasons
        detail = f"envelope correlation {corr:.3f} at lag {lag} ms"

    res["ok"] = ok
    res["reasons"] = reasons
    res["summary"] = (
        f"{kind} {'PASS' if ok else 'FAIL'}: {detail}; received "
        f"{res['received_seconds']:.2f} s "
        f"({res['received_voiced_seconds']:.2f} s non-silent), "
        f"RMS {res['received_rms']:.0f} (sent {res['sent_rms']:.0f})"
        + (f" -- {'; '.join(reasons)}" if reasons else ""))
    return res


def main(argv):
    if len(argv) not in (3, 4) or (len(argv) == 4 and
                                   argv[3] not in ("tone", "speech")):
        print(f"usage: {argv[0]} SENT.wav RECEIVED.wav [tone|speech]",
              file=sys.stderr)
        return 2
    kinds = [argv[3]] if len(argv) == 4 else ["tone", "speech"]
    ok = True
    for kind in kinds:
        res = compare(argv[1], argv[2], kind)
        print(res["summary"])
        for k, v in res.items():
            if k not in ("summary", "reasons"):
                print(f"  {k}: {v}")
        ok = ok and res["ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    sys.exit(main(sys.argv))
