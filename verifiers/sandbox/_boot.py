"""The sandbox's bootstrap: the code that runs inside every sandbox.

The host starts ``python -I -S -c <this file's text> FDS RLIMITS SITE_DIRS``. It reads the
payload (files, program, tests) from an inherited fd, applies the rlimits, writes the files,
then does one of three things:

``run``
    runs the program in this interpreter (or execs ``/bin/sh``);
``serve``
    the solution's side of a test run: runs the solution, tells the judge which names it
    defines, then answers calls. Each call's arguments arrive as plain data and the result goes
    back as plain data (see :func:`_spenv_encode`); nothing else of the process is reachable;
``judge``
    the tests' side, in another sandbox: runs the tests with each of the solution's functions
    replaced by a proxy that forwards the call over the channel, and reports each test over the
    result fd, tagged with the run's token;
``judge_server``
    a long-lived judge for trusted reference tests: takes jobs (the tests, and the two ends of
    a fresh solution sandbox's call channel, passed as file descriptors) over a control socket,
    judges each job as ``judge`` does in a fresh namespace, and streams its tagged records back
    over the socket, ending each job with a ``Z`` record.

The solution never runs in the judge's interpreter, and the tests never exist in the solution's
sandbox. Results that are not plain data, a solution that dies, exits or stops answering, and
any answer that breaks the protocol fail the test during which they happen.

It must run on the sandbox's interpreter with ``-S`` (no site) and imports little at start:
each import costs milliseconds per run.
"""

import posix as _os  # not os, contextlib: importing them costs milliseconds per run
import sys


def _spenv_boot():
    import marshal

    fds = sys.argv[1].split(",")
    pfd, rfd, want, init = int(fds[0]), int(fds[1]), int(fds[2]), fds[3] == "1"
    # The call channel (solution server and judge only): the fd this side reads, and writes.
    chan = (int(fds[4]), int(fds[5])) if len(fds) > 5 else (-1, -1)
    rlimits = [x.split(":") for x in sys.argv[2].split(";") if x]
    site_dirs = sys.argv[3].split(":") if len(sys.argv) > 3 else []
    del sys.argv[1:]
    _write = _os.write
    chunks = []
    got = 0
    while want < 0 or got < want:
        b = _os.read(pfd, 1 << 20 if want < 0 else min(1 << 20, want - got))
        if not b:
            break
        chunks.append(b)
        got += len(b)
    if want < 0:
        _os.close(pfd)
    payload = marshal.loads(b"".join(chunks))
    del chunks
    nonce = payload.pop("nonce")
    if rfd > 2:
        _os.set_inheritable(rfd, False)

    def emit(line):
        data = (nonce + " " + line + "\n").encode("utf-8", "replace")
        try:
            while data:
                data = data[_write(rfd, data) :]
        except OSError:
            pass

    import resource

    for name, soft, hard in rlimits:
        res = getattr(resource, name, None)
        if res is None:
            continue
        soft, hard = int(soft), int(hard)
        cur_hard = resource.getrlimit(res)[1]
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
            soft = min(soft, hard)
        resource.setrlimit(res, (soft, hard))
    for rel, content in payload.pop("files"):
        parts = rel.split("/")
        for i in range(1, len(parts)):
            try:  # noqa: SIM105 (contextlib costs milliseconds per run)
                _os.mkdir("/".join(parts[:i]))
            except FileExistsError:
                pass
        if type(content) is str:
            content = content.encode("utf-8")
        with open(rel, "wb") as f:
            f.write(content)
    # Started with -S (no site import): add the directories site would have added, and the
    # exit()/quit() builtins programs expect.
    sys.path.extend(p for p in site_dirs if p and p not in sys.path)
    import builtins

    if not hasattr(builtins, "exit"):

        def _quit(code=None):
            raise SystemExit(code)

        builtins.exit = builtins.quit = _quit
    sys.path.insert(0, _os.getcwd())
    emit("S")
    if init:
        child = _os.fork()
        if child:
            _spenv_init(child)  # never returns
    if payload["mode"] == "run":
        _spenv_program(payload, emit)
    else:
        if payload["mode"] == "serve":
            _spenv_serve(payload, emit, chan)
        elif payload["mode"] == "judge_server":
            _spenv_judge_server(chan)
        else:
            _spenv_judge(payload, emit, chan)
        # Done: leave without the interpreter's finalization (milliseconds per run, and
        # nothing the verdict depends on), once the program's output is flushed.
        for stream in (sys.stdout, sys.stderr):
            try:  # noqa: SIM105
                stream.flush()
            except BaseException:
                pass
        _os._exit(0)


def _spenv_init(child):
    # This process is pid 1 of the sandbox's pid namespace and its child is the program: reap
    # every process that ends (orphans come here), and when the program ends, end with its
    # status (128+N for a signal N); the kernel then kills whatever is left in the namespace.
    # (bwrap's own init would be left to the host's init to reap when bwrap exits first.)
    while True:
        try:
            pid, status = _os.wait()
        except ChildProcessError:
            _os._exit(125)
        if pid == child:
            break
    if _os.WIFSIGNALED(status):
        _os._exit(128 + _os.WTERMSIG(status))
    _os._exit(_os.WEXITSTATUS(status))


def _spenv_limit_kind(e):
    import errno

    if isinstance(e, MemoryError):
        return "memory"
    if isinstance(e, OSError):
        if e.errno == errno.EFBIG:
            return "file_size"
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            return "disk"
    return None


def _spenv_program(payload, emit):
    main = payload["main"]
    if payload["language"] == "sh":
        import _signal

        # Python ignores SIGPIPE and SIGXFSZ; a shell and its commands expect the defaults.
        for sig in ("SIGPIPE", "SIGXFSZ"):
            if hasattr(_signal, sig):
                _signal.signal(getattr(_signal, sig), _signal.SIG_DFL)
        _os.execv("/bin/sh", ["sh", main] + payload["args"])
    mod = type(sys)("__main__")
    g = mod.__dict__
    g["__file__"] = _os.getcwd() + "/" + main
    g["__builtins__"] = __builtins__
    sys.modules["__main__"] = mod
    sys.argv = [main] + payload["args"]
    src = payload.pop("program")
    try:
        code = compile(src, main, "exec")
    except (SyntaxError, ValueError) as e:
        import traceback

        traceback.print_exception(type(e), e, None)
        sys.exit(1)
    del src, payload
    try:
        exec(code, g)
    except SystemExit:
        raise
    except BaseException as e:
        kind = _spenv_limit_kind(e)
        if kind:
            emit("L " + kind)
        import traceback

        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        sys.stderr.flush()
        sys.exit(1)


def _spenv_esc(s):
    return s[:2000].replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _spenv_msg(e):
    try:
        msg = str(e)
    except BaseException:
        msg = "<unprintable>"
    return _spenv_esc(msg) if type(msg) is str else "<unprintable>"


def _spenv_fmt(e):
    name = getattr(type(e), "__name__", "Exception")
    if type(name) is not str:
        name = "Exception"
    try:
        msg = str(e)
    except BaseException:
        msg = "<unprintable>"
    if type(msg) is not str:
        msg = "<unprintable>"
    return _spenv_esc(name + (": " + msg if msg else ""))


# ------------------------------------------------------------------------------ plain data
# Values cross the channel as JSON of a tagged form: None, booleans, small ints, floats and
# strings as themselves; everything else as a list whose first item says what it is.
_SMALL_INT = 1 << 62


#: Built-in types that may cross as values (``remove_datatype(xs, int)``).
_SPENV_TYPES = ("bool", "int", "float", "complex", "str", "bytes", "list", "tuple", "dict", "set")


def _spenv_encode(v):
    """``v`` as tagged JSON-ready data; TypeError for anything that is not plain data.

    Scalars must have exact types (a subclass of int or str could carry its own comparison).
    Instances of dict, list, tuple, set and frozenset (Counter, OrderedDict, a namedtuple) are
    sent as the plain container, read through the base type's own methods: whatever they
    override never runs on the other side, which only ever builds built-in values."""
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        return v if -_SMALL_INT < v < _SMALL_INT else ["I", format(v, "x")]
    if t is float:
        return v
    if t is complex:
        return ["c", v.real, v.imag]
    if t is bytes:
        return ["b", v.hex()]
    if isinstance(v, dict):
        out = ["d"]
        for k, x in dict.items(v):
            out.append(_spenv_encode(k))
            out.append(_spenv_encode(x))
        return out
    if isinstance(v, list):
        return ["l", *[_spenv_encode(x) for x in list.__iter__(v)]]
    if isinstance(v, tuple):
        return ["t", *[_spenv_encode(x) for x in tuple.__iter__(v)]]
    if isinstance(v, set):
        return ["s", *[_spenv_encode(x) for x in set.__iter__(v)]]
    if isinstance(v, frozenset):
        return ["f", *[_spenv_encode(x) for x in frozenset.__iter__(v)]]
    if t is type and v.__module__ == "builtins" and v.__name__ in _SPENV_TYPES:
        return ["T", v.__name__]
    raise TypeError("not plain data: a value of type " + getattr(t, "__name__", "?"))


def _spenv_decode(x):
    """The value encoded by :func:`_spenv_encode`; ValueError/TypeError for anything else."""
    t = type(x)
    if x is None or t is bool or t is str or t is int or t is float:
        return x
    if t is not list or not x or type(x[0]) is not str:
        raise ValueError("malformed value")
    tag, rest = x[0], x[1:]
    if tag == "I" and len(rest) == 1 and type(rest[0]) is str and len(rest[0]) <= 1 << 20:
        return int(rest[0], 16)
    if tag == "c" and len(rest) == 2 and all(type(r) in (int, float) for r in rest):
        return complex(rest[0], rest[1])
    if tag == "b" and len(rest) == 1 and type(rest[0]) is str:
        return bytes.fromhex(rest[0])
    if tag == "l":
        return [_spenv_decode(i) for i in rest]
    if tag == "t":
        return tuple(_spenv_decode(i) for i in rest)
    if tag == "s":
        return {_spenv_decode(i) for i in rest}
    if tag == "f":
        return frozenset(_spenv_decode(i) for i in rest)
    if tag == "T" and len(rest) == 1 and rest[0] in _SPENV_TYPES:
        import builtins

        return getattr(builtins, rest[0])
    if tag == "d" and len(rest) % 2 == 0:
        return {_spenv_decode(rest[i]): _spenv_decode(rest[i + 1]) for i in range(0, len(rest), 2)}
    raise ValueError("malformed value")


_MSG_CAP = 64 << 20  # bytes of one message on the channel


_SPENV_JSON = []  # [scanner, encoder]: the C parts of json (importing json costs ~10 ms)


def _spenv_json():
    if not _SPENV_JSON:
        import _json

        class _Ctx:
            strict = True
            object_hook = None
            object_pairs_hook = None
            parse_float = float
            parse_int = int
            parse_constant = {"NaN": 1e999 - 1e999, "Infinity": 1e999, "-Infinity": -1e999}.get

        def _no(o):
            raise TypeError("not JSON data")

        _SPENV_JSON.append(_json.make_scanner(_Ctx()))
        _SPENV_JSON.append(
            _json.make_encoder(
                None, _no, _json.encode_basestring_ascii, None, ":", ",", False, False, True
            )
        )
    return _SPENV_JSON


def _spenv_send(fd, obj):
    data = "".join(_spenv_json()[1](obj, 0)).encode("ascii")
    data = len(data).to_bytes(4, "big") + data
    while data:
        data = data[_os.write(fd, data) :]


def _spenv_recv(fd, deadline=None):
    """One message, or None at end of file; raises OSError/ValueError on a broken channel and
    TimeoutError past ``deadline`` (a time.monotonic value)."""
    head = _spenv_read_exact(fd, 4, deadline)
    if head is None:
        return None
    n = int.from_bytes(head, "big")
    if n > _MSG_CAP:
        raise ValueError(f"message of {n} bytes, over the cap")
    body = _spenv_read_exact(fd, n, deadline)
    if body is None:
        raise ValueError("channel closed inside a message")
    text = body.decode("ascii")
    try:
        obj, end = _spenv_json()[0](text, 0)
    except StopIteration:
        raise ValueError("not JSON") from None
    if end != len(text):
        raise ValueError("not JSON")
    return obj


def _spenv_read_exact(fd, n, deadline):
    chunks = []
    got = 0
    while got < n:
        if deadline is not None:
            import select
            import time

            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("no answer in time")
        b = _os.read(fd, min(n - got, 1 << 20))
        if not b:
            if got:
                raise ValueError("channel closed inside a message")
            return None
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


class _SpenvTimeout(BaseException):
    """A per-call (solution) or per-test (judge) time limit ran out."""


def _spenv_alarm(signal):
    """SIGALRM raises :class:`_SpenvTimeout` (armed per call or test with ``setitimer``)."""

    def _alarm(signum, frame):
        raise _SpenvTimeout()

    signal.signal(signal.SIGALRM, _alarm)


# -------------------------------------------------------------------- the solution's side
def _spenv_serve(payload, emit, chan):
    import _signal as signal  # the C module: the signal wrapper imports enum (slow)
    import builtins

    rfd, wfd = chan
    ptt = payload["per_test_timeout"]

    if ptt:
        _spenv_alarm(signal)

    def timed(fn, *a, **kw):
        if ptt:
            signal.setitimer(signal.ITIMER_REAL, ptt)
        try:
            return fn(*a, **kw)
        finally:
            if ptt:
                signal.setitimer(signal.ITIMER_REAL, 0)

    mod = type(sys)("solution")
    ns = mod.__dict__
    ns["__builtins__"] = builtins
    sys.modules["solution"] = mod
    src = payload.pop("solution")
    try:
        code = compile(src, "solution.py", "exec")
    except (SyntaxError, ValueError) as e:
        _spenv_send(wfd, ["syntax", _spenv_fmt(e)])
        return
    del src
    try:
        timed(exec, code, ns)
    except _SpenvTimeout:
        _spenv_send(wfd, ["raise", "the solution timed out while loading"])
        return
    except BaseException as e:
        kind = _spenv_limit_kind(e)
        if kind:
            emit("L " + kind)
        _spenv_send(wfd, ["raise", _spenv_fmt(e)])
        return
    names = []
    for name, value in list(ns.items()):
        if name.startswith("__") or type(name) is not str:
            continue
        if type(value) is type(sys):
            names.append(["m", name, getattr(value, "__name__", "")])
        elif callable(value):
            names.append(["f", name])
    _spenv_send(wfd, ["ready", names])
    while True:
        try:
            msg = _spenv_recv(rfd)
        except (OSError, ValueError):
            return
        if msg is None:
            return  # the judge is done
        try:
            seq, name, args, kwargs = msg
            fn = ns[name]
            args = _spenv_decode(args)
            kwargs = _spenv_decode(kwargs)
        except BaseException:
            return  # not a call from the judge
        try:
            result = timed(fn, *args, **kwargs)
        except _SpenvTimeout:
            reply = [seq, "timeout", f"the call ran past its {ptt:g}s limit"]
        except Exception as e:
            kind = _spenv_limit_kind(e)
            if kind:
                emit("L " + kind)
            reply = [seq, "exc", getattr(type(e), "__name__", "Exception"), _spenv_msg(e)]
        except BaseException as e:
            reply = [seq, "exit", _spenv_fmt(e)]
        else:
            try:
                reply = [seq, "ok", _spenv_encode(result)]
            except BaseException as e:
                reply = [seq, "bad", _spenv_fmt(e)]
        try:
            _spenv_send(wfd, reply)
        except (OSError, ValueError, TypeError):
            return
        if reply[1] == "exit":
            return


# ------------------------------------------------------------------------- the judge's side
class _SpenvSolutionFailed(BaseException):
    """Raised into the test when the solution broke the rules of a call (not an Exception, so a
    test's ``except Exception`` does not swallow it; the test fails even if it does)."""


class _SpenvCandidateError(Exception):
    """An exception the solution raised, where no built-in exception of that name exists."""


def _spenv_judge(payload, emit, chan):
    import _signal as signal
    import builtins
    import time

    rfd, wfd = chan
    _exec = builtins.exec
    _clock = time.perf_counter
    _setitimer = signal.setitimer
    mode = payload["mode"]
    tests = payload["tests"]
    entry = payload["entry_point"]
    ptt = payload["per_test_timeout"]
    units = []  # (kind, name, code or error)
    if mode == "asserts":
        for i, src in enumerate(tests):
            try:
                units.append(("test", src, compile(src, f"<test {i}>", "exec")))
            except (SyntaxError, ValueError) as e:
                units.append(("invalid", src, _spenv_fmt(e)))
    elif mode == "check":
        try:
            units.append(("setup", "tests", compile(tests, "<tests>", "exec")))
        except (SyntaxError, ValueError) as e:
            emit("Y " + _spenv_fmt(e))
            return
        units.append(("check", f"check({entry})", None))
    else:
        import ast

        try:
            tree = ast.parse(tests, "<tests>")
        except (SyntaxError, ValueError) as e:
            emit("Y " + _spenv_fmt(e))
            return
        pending = []
        n_asserts = 0
        for node in tree.body:
            if isinstance(node, ast.Assert):
                if pending:
                    m = ast.Module(body=pending, type_ignores=[])
                    units.append(("setup", "setup", compile(m, "<tests>", "exec")))
                    pending = []
                seg = ast.get_source_segment(tests, node) or f"assert (line {node.lineno})"
                m = ast.Module(body=[node], type_ignores=[])
                units.append(("test", seg, compile(m, "<tests>", "exec")))
                n_asserts += 1
            else:
                pending.append(node)
        if n_asserts == 0:
            units = [("test", "tests", compile(tree, "<tests>", "exec"))]
        elif pending:
            m = ast.Module(body=pending, type_ignores=[])
            units.append(("setup", "setup", compile(m, "<tests>", "exec")))
    names = [u[1][:200] for u in units if u[0] in ("test", "check", "invalid")]
    for i, name in enumerate(names):
        emit(f"N {i} {_spenv_esc(name)}")
    emit(f"P {len(names)}")

    if ptt:
        _spenv_alarm(signal)
    # How long to wait for one answer: the solution's own per-call alarm, with a margin.
    wait = (ptt * 2 + 1.0) if ptt else None
    state = {"dead": None, "foul": None, "seq": 0}

    def fail(why, fatal):
        if fatal and state["dead"] is None:
            state["dead"] = why
        if state["foul"] is None:
            state["foul"] = why
        raise _SpenvSolutionFailed(why)

    def answer(seq):
        """The reply to call ``seq``, skipping the late replies to calls that a test gave up
        waiting for (its own time limit ended it)."""
        while True:
            deadline = None if wait is None else time.monotonic() + wait
            try:
                msg = _spenv_recv(rfd, deadline)
            except TimeoutError:
                fail("the solution did not answer in time", True)
            except (OSError, ValueError, RecursionError, MemoryError):
                fail("the solution broke the call protocol", True)
            if msg is None:
                fail("the solution's process ended", True)
            if type(msg) is not list or len(msg) < 2 or type(msg[0]) is not int:
                fail("the solution broke the call protocol", True)
            if msg[0] == seq:
                return msg
            if msg[0] > seq:
                fail("the solution broke the call protocol", True)

    def proxy_for(name):
        def candidate(*args, **kwargs):
            if state["dead"] is not None:
                fail(state["dead"], True)
            try:
                enc_args = _spenv_encode(list(args))
                enc_kwargs = _spenv_encode(dict(kwargs))
            except (TypeError, RecursionError) as e:
                raise TypeError(f"an argument is not plain data ({e})") from None
            state["seq"] += 1
            seq = state["seq"]
            try:
                _spenv_send(wfd, [seq, name, enc_args, enc_kwargs])
            except (OSError, ValueError):
                fail("the solution's process ended", True)
            msg = answer(seq)
            kind = msg[1]
            if kind == "ok" and len(msg) == 3:
                try:
                    return _spenv_decode(msg[2])
                except (ValueError, TypeError, RecursionError, MemoryError, OverflowError):
                    fail("the solution returned something that is not plain data", False)
            if kind == "exc" and len(msg) == 4 and type(msg[2]) is str and type(msg[3]) is str:
                cls = getattr(builtins, msg[2], None)
                text = _spenv_esc(msg[3])[:500]
                if (
                    isinstance(cls, type)
                    and issubclass(cls, Exception)
                    and cls.__module__ == "builtins"
                ):
                    try:
                        exc = cls(text)
                    except Exception:
                        exc = _SpenvCandidateError(text)
                    raise exc
                raise _SpenvCandidateError(text)
            if kind == "timeout":
                fail("the call ran past its time limit", False)
            if kind == "bad":
                fail("the solution returned something that is not plain data", False)
            if kind == "exit":
                fail("the solution tried to exit", True)
            fail("the solution broke the call protocol", True)

        candidate.__name__ = candidate.__qualname__ = name
        return candidate

    ns = {"__name__": "__main__", "__builtins__": builtins}
    if payload.get("setup"):
        try:
            _exec(compile(payload["setup"], "<setup>", "exec"), ns)
        except BaseException as e:
            emit("U setup: " + _spenv_fmt(e))
    trusted = {k for k in ns if not k.startswith("__")} - {entry}
    deadline = None if not ptt else time.monotonic() + ptt + 1.0
    try:
        hello = _spenv_recv(rfd, deadline)
    except TimeoutError:
        hello = ["raise", "the solution did not load in time"]
    except (OSError, ValueError, RecursionError, MemoryError):
        hello = None
    if type(hello) is not list or not hello or hello[0] not in ("ready", "syntax", "raise"):
        emit("E the solution's process ended before the tests (or broke the protocol)")
        return
    if hello[0] == "syntax":
        emit("X " + _spenv_esc(str(hello[1]) if len(hello) > 1 else "syntax error"))
        return
    if hello[0] == "raise":
        emit("E " + _spenv_esc(str(hello[1]) if len(hello) > 1 else "error"))
        return
    stdlib = getattr(sys, "stdlib_module_names", ())
    for item in hello[1] if len(hello) > 1 and type(hello[1]) is list else ():
        if type(item) is not list or len(item) < 2 or type(item[1]) is not str:
            continue
        name = item[1]
        if not name.isidentifier() or name.startswith("__") or name in trusted:
            continue
        if name != entry and hasattr(builtins, name):
            continue  # the tests' abs/len/sorted/... stay the real ones, never the solution's
        if item[0] == "f":
            ns[name] = proxy_for(name)
        elif item[0] == "m" and len(item) == 3 and type(item[2]) is str:
            top = item[2].partition(".")[0]
            if top in stdlib and item[2].replace(".", "").isidentifier():
                try:
                    __import__(item[2])
                    ns[name] = sys.modules[item[2]]
                except BaseException:
                    pass
    # Every test starts from the same random state (and the judge runs with a fixed hash
    # seed): a test's result depends on the program under test, not on chance, so a coin-flip
    # test cannot pass the reference by luck and then "catch" wrong programs by luck. With
    # ``repeat`` > 1 each test runs that many times: it passes if every run passes, fails if
    # every run fails, and is unstable otherwise (for clocks and other chance the seed misses).
    import random

    repeat = max(1, int(payload.get("repeat") or 1))

    def run_once(kind, obj):
        random.seed(0)
        err = None
        ok = False
        state["foul"] = None
        try:
            if ptt:
                _setitimer(signal.ITIMER_REAL, ptt)
            try:
                if kind == "check":
                    if entry not in ns:
                        raise NameError(f"entry point {entry!r} is not defined by the solution")
                    ns["check"](ns[entry])
                else:
                    _exec(obj, ns)
            finally:
                if ptt:
                    _setitimer(signal.ITIMER_REAL, 0)
            ok = True
        except _SpenvTimeout:
            err = f"timeout: the test ran past its {ptt:g}s limit"
        except BaseException as e:
            err = _spenv_fmt(e)
            lim = _spenv_limit_kind(e)
            if lim:
                emit("L " + lim)
        if state["foul"] is not None:
            ok = False
            err = _spenv_esc(state["foul"])
        return ok, err

    index = 0
    for kind, _name, obj in units:
        if kind == "invalid":
            emit(f"T {index} 2 0 {obj}")
            index += 1
            continue
        t0 = _clock()
        if kind == "setup":
            _ok, err = run_once(kind, obj)
            if err is not None:
                emit("U " + err)
            continue
        results = [run_once(kind, obj) for _ in range(repeat)]
        passes = sum(ok for ok, _ in results)
        err = next((e for ok, e in results if not ok), None)
        flag = 1 if passes == repeat else (0 if passes == 0 else 3)
        if flag == 3:
            err = f"unstable: passed {passes} of {repeat} runs; {err or ''}"
        emit(f"T {index} {flag} {_clock() - t0:.6f} {err or ''}")
        index += 1
    emit("D")


# --------------------------------------------------------------------- the long-lived judge
class _SpenvCap:
    """A capped text sink standing in for stdout/stderr while one job is judged."""

    cap = 1 << 16

    def __init__(self):
        self.parts = []
        self.size = 0

    def write(self, s):
        if type(s) is not str:
            raise TypeError("write() argument must be str")
        room = self.cap - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        return len(s)

    def flush(self):
        pass

    def text(self):
        return "".join(self.parts)


def _spenv_recv_job(sock, _socket):
    """One job from the host: (payload, fds), or None at end of file or on a broken message."""
    import marshal

    fds = []
    try:
        head, anc, flags, _addr = sock.recvmsg(4, _socket.CMSG_SPACE(16))
        for level, kind, data in anc:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                size = len(data) - len(data) % 4
                fds += [int.from_bytes(data[i : i + 4], sys.byteorder) for i in range(0, size, 4)]
        if not head or flags & getattr(_socket, "MSG_CTRUNC", 8):
            raise ValueError("no job")
        while len(head) < 4:
            more = sock.recv(4 - len(head))
            if not more:
                raise ValueError("torn job")
            head += more
        n = int.from_bytes(head, "big")
        chunks, got = [], 0
        while got < n:
            b = sock.recv(min(n - got, 1 << 20))
            if not b:
                raise ValueError("torn job")
            chunks.append(b)
            got += len(b)
        job = marshal.loads(b"".join(chunks))
        if type(job) is not dict or len(fds) != 2:
            raise ValueError("malformed job")
    except (OSError, ValueError, EOFError, TypeError):
        for fd in fds:
            try:  # noqa: SIM105
                _os.close(fd)
            except OSError:
                pass
        return None
    return job, fds


def _spenv_judge_server(chan):
    import _socket
    import time

    sock = _socket.socket(fileno=chan[0])
    if chan[1] != chan[0]:
        _os.close(chan[1])
    real = sys.stdout, sys.stderr
    while True:
        got = _spenv_recv_job(sock, _socket)
        if got is None:
            return
        job, fds = got
        nonce = job.pop("nonce", "")

        def emit(line, nonce=nonce):
            sock.sendall((nonce + " " + line + "\n").encode("utf-8", "replace"))

        out, err = _SpenvCap(), _SpenvCap()
        c0 = time.process_time()
        try:
            sys.stdout, sys.stderr = out, err
            emit("S")
            _spenv_judge(job, emit, (fds[0], fds[1]))
        except OSError:
            return  # the host is gone
        except BaseException as e:
            emit("U judge: " + _spenv_fmt(e))
        finally:
            sys.stdout, sys.stderr = real
            for fd in fds:
                try:  # noqa: SIM105
                    _os.close(fd)
                except OSError:
                    pass
        emit("O " + _spenv_esc(out.text()))
        emit("R " + _spenv_esc(err.text()))
        emit(f"Z {time.process_time() - c0:.6f}")


if __name__ == "__main__":
    _spenv_boot()
