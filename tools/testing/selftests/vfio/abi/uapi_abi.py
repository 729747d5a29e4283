#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compare the ABI of two copies of a uAPI header, as the compiler sees it.

    uapi_abi.py check OURS REFERENCE [--keep] [--no-m32]
    uapi_abi.py mutate OURS REFERENCE

"check" learns the symbols of REFERENCE (the distro's vfio.h) from gcc
itself: `gcc -dM -E` gives every macro the header adds, `gcc -E` gives its
declarations, which a small parser turns into records (struct, union,
enum), their members (anonymous structs and unions flattened, as C does)
and enumerators.  OURS is parsed the same way.

One C program is generated from the reference symbols.  For each item it
prints one line "kind name value":

  macro     object-like macro: %llx of its value plus signedness and size
            of its type, the string for string macros, "defined" for empty
            ones
  fnmacro   function-like macro: "defined", and for one-argument macros
            the %llx result for a set of sample arguments
  enum      enumerator value
  size/align          sizeof/_Alignof of every record
  offset/msize/esize/mtype
            offsetof, sizeof, element size of arrays and a code for the
            scalar type (u8 ... s64, pointer, record name) of every member

The program is built and run twice: with the reference header installed
as linux/vfio.h ahead of /usr/include, and with ours.  Items the parser
cannot find in ours (or finds with another shape, e.g. an array where the
reference has a scalar) are left out of our build by -DABI_OURS and
reported as missing.  The same source compiled with -m32 -S prints the
i386 layout at compile time (asm-offsets style), which catches __u64 vs
__aligned_u64 slips invisible on x86_64.

Output is kselftest TAP; exit 0 when everything matches, 1 otherwise, 4
when the reference header is absent.

The series carries exactly one ABI change past 6.12, listed in BEYOND:
upstream's 2025 fix of VFIO_DEVICE_BIND_IOMMUFD, which lets a device
cdev bind pass the VF token (flag bit 0 and an 8-byte token_uuid_ptr
appended to the argument).  The differences it causes are accepted as
listed there, value for value; any other symbol only ours has, and any
other difference, fails.

"mutate" proves the check can fail: it applies a set of single mutations to
a copy of OURS and expects each one to be caught.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

KSFT_PASS, KSFT_FAIL, KSFT_SKIP = 0, 1, 4

CFLAGS = ["-std=gnu11", "-O0", "-D__user="]
# For -m32 without a multilib sysroot: the amd64 asm/ headers are generic
# enough for i386 (asm/types.h, asm/bitsperlong.h check __x86_64__).
M32_FLAGS = ["-m32", "-idirafter", "/usr/include/x86_64-linux-gnu"]

# The ABI past 6.12 the series has on purpose (see the docstring): the
# symbols it adds, and for each layout difference it causes the pair
# (reference value, our value) accepted, as the generated program prints
# them on x86_64 and on i386.
BEYOND_SYMBOLS = {
    "macro VFIO_DEVICE_BIND_FLAG_TOKEN",
    "struct vfio_device_bind_iommufd.token_uuid_ptr",
}
BEYOND_LAYOUT = {
    ("size", "struct:vfio_device_bind_iommufd"): {("10", "18"), ("16", "24")},
    ("align", "struct:vfio_device_bind_iommufd"): {("4", "8")},
}
FN_SAMPLES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0x55, 0xff, 0x5a5a5a5a]

TOKEN_RE = re.compile(r"""[A-Za-z_]\w*|0[xX][0-9a-fA-F]+\w*|\d+\w*|
                          "(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|\S""", re.X)
NOT_EXPR = {"struct", "union", "enum", "typedef", "__attribute__",
            "__extension__", "do", "while", "{", ";", "#"}

CATEGORIES = [
    ("macros", "object-like macros: values, types, strings",
     {"macro"}),
    ("fnmacros", "function-like macros: presence and sample results",
     {"fnmacro"}),
    ("enums", "enumerator values", {"enum"}),
    ("types", "struct/union/enum sizes and alignment", {"size", "align"}),
    ("members", "member offsets, sizes and types",
     {"offset", "msize", "esize", "mtype"}),
]


class Member:
    """One member of a record, as a path usable in offsetof()."""

    def __init__(self, path, ptrs, dims, flex, bitfield, complex_decl):
        self.path = path
        self.ptrs = ptrs
        self.dims = dims
        self.flex = flex
        self.bitfield = bitfield
        self.complex = complex_decl

    def shape(self):
        return (self.ptrs, len(self.dims), self.flex, self.bitfield,
                self.complex)


class Header:
    """What one copy of the header declares, as seen through gcc."""

    def __init__(self, path, extra_flags=()):
        self.path = os.path.abspath(path)
        self.incdir = tempfile.mkdtemp(prefix="uapi-abi-inc-")
        os.makedirs(os.path.join(self.incdir, "linux"))
        shutil.copy(self.path, os.path.join(self.incdir, "linux", "vfio.h"))
        self.flags = list(extra_flags)
        self.macros = {}	# name -> (params or None, body)
        self.records = {}	# "struct x" -> [Member]
        self.record_order = []
        self.enumerators = []
        self.enum_tags = []
        self._read_macros()
        self._read_decls()

    def cleanup(self):
        shutil.rmtree(self.incdir, ignore_errors=True)

    def _cpp(self, source, args):
        cmd = ["gcc", "-E"] + CFLAGS + self.flags + \
              ["-I", self.incdir] + args + ["-"]
        res = subprocess.run(cmd, input=source, capture_output=True,
                             text=True)
        if res.returncode:
            raise RuntimeError("gcc -E failed on %s:\n%s" %
                               (self.path, res.stderr))
        return res.stdout

    def _read_macros(self):
        base = "#include <linux/types.h>\n#include <linux/ioctl.h>\n"
        before = self._dm(self._cpp(base, ["-dM"]))
        after = self._dm(self._cpp(base + "#include <linux/vfio.h>\n",
                                   ["-dM"]))
        for name, val in after.items():
            if before.get(name) != val:
                self.macros[name] = val

    @staticmethod
    def _dm(text):
        out = {}
        for line in text.splitlines():
            m = re.match(r"#define (\w+)(\(([^)]*)\))?(?: (.*))?$", line)
            if not m:
                continue
            params = None
            if m.group(2) is not None:
                params = [p.strip() for p in m.group(3).split(",")
                          if p.strip()]
            out[m.group(1)] = (params, (m.group(4) or "").strip())
        return out

    def _read_decls(self):
        text = self._cpp("#include <linux/vfio.h>\n", [])
        mine = []
        keep = False
        for line in text.splitlines():
            m = re.match(r'# \d+ "([^"]*)"', line)
            if m:
                keep = os.path.basename(m.group(1)) == "vfio.h" and \
                    os.path.dirname(os.path.abspath(m.group(1))) == \
                    os.path.join(self.incdir, "linux")
                continue
            if keep:
                mine.append(line)
        toks = TOKEN_RE.findall("\n".join(mine))
        self._parse_top(toks)

    # --- a declaration parser just big enough for uAPI headers ---

    def _parse_top(self, toks):
        i = 0
        while i < len(toks):
            if toks[i] in ("struct", "union", "enum"):
                i = self._type_spec(toks, i)
            i = self._skip_stmt(toks, i)

    @staticmethod
    def _skip_stmt(toks, i):
        depth = 0
        while i < len(toks):
            t = toks[i]
            if t in "({[":
                depth += 1
            elif t in ")}]":
                depth -= 1
            elif t == ";" and depth <= 0:
                return i + 1
            i += 1
        return i

    @staticmethod
    def _match(toks, i):
        """Index just past the bracket group opening at toks[i]."""
        pairs = {"(": ")", "[": "]", "{": "}"}
        want = [pairs[toks[i]]]
        i += 1
        while want and i < len(toks):
            if toks[i] in pairs:
                want.append(pairs[toks[i]])
            elif toks[i] == want[-1]:
                want.pop()
            i += 1
        return i

    def _type_spec(self, toks, i):
        """Parse "struct|union|enum [tag] [{...}]" at toks[i].

        Tagged definitions are recorded.  Returns the index after the
        specifier and leaves in self._last (members, is_record) when there
        was a body (so an anonymous one can be flattened), else None.
        """
        kind = toks[i]
        i += 1
        while toks[i] == "__attribute__":
            i = self._match(toks, i + 1)
        tag = None
        if re.match(r"[A-Za-z_]\w*$", toks[i]):
            tag = toks[i]
            i += 1
        self._last = None
        if i >= len(toks) or toks[i] != "{":
            return i
        end = self._match(toks, i)
        body = toks[i + 1:end - 1]
        if kind == "enum":
            self._parse_enum(body)
            if tag:
                self.enum_tags.append("enum " + tag)
            self._last = ([], False)
        else:
            mems = self._parse_body(body)
            if tag:
                name = "%s %s" % (kind, tag)
                if name not in self.records:
                    self.record_order.append(name)
                self.records[name] = mems
            self._last = (mems, True)
        return end

    def _parse_enum(self, body):
        part = []
        for t in body + [","]:
            if t == "," and part:
                self.enumerators.append(part[0])
                part = []
            elif t != ",":
                part.append(t)

    def _parse_body(self, body):
        mems = []
        i = 0
        while i < len(body):
            end = self._skip_stmt(body, i)
            decl = body[i:end - 1]
            i = end
            if not decl:
                continue
            nested = None
            j = 0
            while j < len(decl) and decl[j] in ("__extension__", "const",
                                                 "volatile"):
                j += 1
            if decl[j] in ("struct", "union", "enum"):
                j = self._type_spec(decl, j)
                nested = self._last
            else:
                # Skip the type specifier words: everything up to the
                # first declarator, which starts at '*', '(' or the name.
                while j < len(decl) - 1 and \
                        re.match(r"[A-Za-z_]\w*$", decl[j]) and \
                        re.match(r"[A-Za-z_]\w*$", decl[j + 1]):
                    j += 1
            rest = decl[j:]
            declarators = self._split_commas(rest)
            if nested and nested[1] and not declarators:
                mems.extend(nested[0])	# anonymous struct/union
                continue
            for d in declarators:
                m = self._declarator(d)
                if not m:
                    continue
                mems.append(m)
                if nested and nested[1] and not m.ptrs:
                    pre = m.path + "[0]" * len(m.dims) + "."
                    for sub in nested[0]:
                        mems.append(Member(pre + sub.path, sub.ptrs,
                                           sub.dims, sub.flex,
                                           sub.bitfield, sub.complex))
        return mems

    def _split_commas(self, toks):
        parts, cur, i = [], [], 0
        while i < len(toks):
            t = toks[i]
            if t in "([{":
                j = self._match(toks, i)
                cur.extend(toks[i:j])
                i = j
                continue
            if t == ",":
                parts.append(cur)
                cur = []
            else:
                cur.append(t)
            i += 1
        if cur:
            parts.append(cur)
        return parts

    def _declarator(self, d):
        toks = []
        i = 0
        while i < len(d):	# drop attributes
            if d[i] in ("__attribute__", "__attribute"):
                i = self._match(d, i + 1)
                continue
            toks.append(d[i])
            i += 1
        if not toks:
            return None
        complex_decl = "(" in toks
        if complex_decl:
            # e.g. "(*fn)(int)": the name follows the '*' in the parens.
            k = toks.index("(")
            names = [t for t in toks[k:] if re.match(r"[A-Za-z_]\w*$", t)]
            return Member(names[0], 0, [], False, False, True) \
                if names else None
        ptrs = toks.count("*")
        bitfield = ":" in toks
        if bitfield:
            toks = toks[:toks.index(":")]
        dims = []
        flex = False
        if "[" in toks:
            k = toks.index("[")
            head, tail = toks[:k], toks[k:]
            i = 0
            while i < len(tail) and tail[i] == "[":
                j = self._match(tail, i)
                dims.append(" ".join(tail[i + 1:j - 1]))
                i = j
            flex = bool(dims) and dims[0] == ""
            toks = head
        names = [t for t in toks if re.match(r"[A-Za-z_]\w*$", t)]
        if not names:
            return None
        return Member(names[-1], ptrs, dims, flex, bitfield, False)

    # --- classification of macros ---

    def macro_kind(self, name, seen=None):
        """'empty', 'string', 'number' or 'other' for an object macro."""
        params, body = self.macros[name]
        seen = seen or set()
        if params is not None:
            return "function"
        toks = TOKEN_RE.findall(body)
        while toks and toks[0] == "(" and toks[-1] == ")" and \
                self._match(toks, 0) == len(toks):
            toks = toks[1:-1]
        if not toks:
            return "empty"
        if toks[0].startswith('"'):
            return "string"
        if len(toks) == 1 and toks[0] in self.macros and \
                toks[0] not in seen:
            seen.add(name)
            return self.macro_kind(toks[0], seen)
        if NOT_EXPR & set(toks):
            return "other"
        return "number"


PROLOGUE = r"""/* Generated by uapi_abi.py: prints the ABI of <linux/vfio.h>. */
#include <stddef.h>
#ifndef ABI_ASM
#include <stdio.h>
#endif
#include <linux/vfio.h>

#ifdef ABI_ASM
/* Compile-only: the value is printed into the assembler output. */
#define ABI_NUM(kind, name, val) \
	__asm__ volatile("#@ABI@ " kind " " name " %c0" \
			 : : "n" ((unsigned long)(val)))
#else
#define ABI_NUM(kind, name, val) \
	printf("%s %s %llx\n", kind, name, (unsigned long long)(val))
#endif

/* Signedness and size of an expression's type, e.g. "s4". */
#define ABI_MACRO(name, val) \
	printf("macro %s %llx %c%zu\n", name, (unsigned long long)(val), \
	       ((__typeof__(val))-1 < 1) ? 's' : 'u', sizeof(val))

"""


def type_code_macro(common_records):
    """A _Generic that maps a scalar or record type to a stable number."""
    lines = ["#define ABI_TYPE(x) _Generic((x), \\"]
    scalars = ["__u8", "__s8", "char", "__u16", "__s16", "__u32", "__s32",
               "unsigned long", "long", "__u64", "__s64", "float", "double",
               "_Bool"]
    for n, t in enumerate(scalars, 1):
        lines.append("\t%s: %d, \\" % (t, n))
    for n, r in enumerate(common_records, 1000):
        lines.append("\t%s: %d, \\" % (r, n))
    lines.append("\tdefault: 100 + __builtin_classify_type(x))")
    return "\n".join(lines) + "\n\n"


def generate(ref, ours):
    """The C program, and the reference items left out of our build."""
    skipped = []	# (category, text)
    common = [r for r in ref.record_order if r in ours.records]
    out = [PROLOGUE, type_code_macro(common), "int main(void)\n{\n"]

    out.append("#ifndef ABI_ASM\n")
    for name in sorted(ref.macros):
        if name.startswith("__"):
            continue
        params, _ = ref.macros[name]
        kind = ref.macro_kind(name)
        out.append("#ifdef %s\n" % name)
        if kind == "string":
            out.append('\tprintf("macro %%s \\"%%s\\"\\n", "%s", %s);\n' %
                       (name, name))
        elif kind == "number":
            out.append('\tABI_MACRO("%s", %s);\n' % (name, name))
        elif kind == "function":
            out.append('\tprintf("fnmacro %s defined\\n");\n' % name)
            body = TOKEN_RE.findall(ref.macros[name][1])
            if len(params) == 1 and params[0] != "..." and \
                    not NOT_EXPR & set(body):
                for v in FN_SAMPLES:
                    out.append('\tABI_NUM("fnmacro", "%s(%#x)", %s(%#x));\n'
                               % (name, v, name, v))
        else:
            out.append('\tprintf("macro %s defined\\n");\n' % name)
        out.append("#endif\n")

    for e in ref.enumerators:
        guard = e not in ours.enumerators
        if guard:
            skipped.append(("enums", "enumerator %s is missing" % e))
            out.append("#ifndef ABI_OURS\n")
        out.append('\tABI_NUM("enum", "%s", %s);\n' % (e, e))
        if guard:
            out.append("#endif\n")
    out.append("#endif /* !ABI_ASM */\n\n")

    for tag in ref.enum_tags:
        guard = tag not in ours.enum_tags
        if guard:
            skipped.append(("types", "%s is missing" % tag))
            out.append("#ifndef ABI_OURS\n")
        key = tag.replace(" ", ":")
        out.append('\tABI_NUM("size", "%s", sizeof(%s));\n' % (key, tag))
        if guard:
            out.append("#endif\n")

    for rec in ref.record_order:
        key = rec.replace(" ", ":")
        have = rec in ours.records
        if not have:
            skipped.append(("types", "%s is missing" % rec))
            skipped.extend(("members", "%s.%s is missing" % (key, m.path))
                           for m in ref.records[rec])
            out.append("#ifndef ABI_OURS\n")
        out.append('\tABI_NUM("size", "%s", sizeof(%s));\n' % (key, rec))
        out.append('\tABI_NUM("align", "%s", _Alignof(%s));\n' % (key, rec))
        theirs = {m.path: m for m in ours.records.get(rec, [])}
        for m in ref.records[rec]:
            out.append(member_checks(rec, key, m, theirs, have, skipped))
        if not have:
            out.append("#endif\n")
    out.append("\treturn 0;\n}\n")
    return "".join(out), skipped


def member_checks(rec, key, m, theirs, have, skipped):
    name = "%s.%s" % (key, m.path)
    expr = "((%s *)0)->%s" % (rec, m.path)
    lines = []
    if m.bitfield:
        lines.append('#ifndef ABI_ASM\n\tprintf("offset %s bitfield\\n");'
                     '\n#endif\n' % name)
    else:
        lines.append('\tABI_NUM("offset", "%s", offsetof(%s, %s));\n' %
                     (name, rec, m.path))
        if not m.flex:
            lines.append('\tABI_NUM("msize", "%s", sizeof(%s));\n' %
                         (name, expr))
        if not m.complex:
            elem = expr + "[0]" * len(m.dims)
            if m.dims:
                lines.append('\tABI_NUM("esize", "%s", sizeof(%s));\n' %
                             (name, elem))
            base = "*" * m.ptrs + elem
            lines.append('\tABI_NUM("mtype", "%s", %s%s);\n' %
                         (name, "" if m.ptrs == 0 else "0x10000 * %d + " %
                          m.ptrs, "ABI_TYPE(%s)" % base))
    body = "".join(lines)
    if not have:
        return body
    other = theirs.get(m.path)
    if other is None:
        skipped.append(("members", "%s is missing" % name))
    elif other.shape() != m.shape():
        skipped.append(("members", "%s has another shape: reference %s, "
                        "ours %s" % (name, describe(m), describe(other))))
    else:
        return body
    return "#ifndef ABI_OURS\n" + body + "#endif\n"


def describe(m):
    s = "*" * m.ptrs + "x" + "".join("[%s]" % d for d in m.dims)
    return s + (":bits" if m.bitfield else "")


def build_and_run(src, header, workdir, tag, extra):
    """Compile (and run) the program; returns (lines, error text)."""
    cfile = os.path.join(workdir, "abi.c")
    with open(cfile, "w") as f:
        f.write(src)
    m32 = "-m32" in extra
    exe = os.path.join(workdir, "abi-%s%s" % (tag, ".s" if m32 else ""))
    cmd = ["gcc"] + CFLAGS + header.flags + extra + \
          ["-I", header.incdir, cfile, "-o", exe]
    if m32:
        cmd += ["-S", "-DABI_ASM"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        return None, "gcc failed:\n" + res.stderr
    if m32:
        with open(exe) as f:
            lines = [ln.split("#@ABI@ ", 1)[1].strip() for ln in f
                     if "#@ABI@ " in ln]
        return lines, None
    res = subprocess.run([exe], capture_output=True, text=True)
    if res.returncode:
        return None, "program exited %d:\n%s" % (res.returncode, res.stderr)
    with open(os.path.join(workdir, "abi-%s.out" % tag), "w") as f:
        f.write(res.stdout)
    return res.stdout.splitlines(), None


def as_map(lines):
    out = {}
    for ln in lines:
        kind, name, val = ln.split(" ", 2)
        out[(kind, name)] = val
    return out


class Tap:
    def __init__(self, total):
        self.n = 0
        self.failed = 0
        print("TAP version 13")
        print("1..%d" % total)

    @staticmethod
    def diag(text):
        for ln in str(text).splitlines():
            print("# " + ln if ln else "#")

    def result(self, ok, name, skip=None):
        self.n += 1
        if skip:
            print("ok %d %s # SKIP %s" % (self.n, name, skip))
            return
        if not ok:
            self.failed += 1
        print("%s %d %s" % ("ok" if ok else "not ok", self.n, name))


def compare(tap, ref_map, our_map, skipped, cats, suffix=""):
    """One TAP result per category; diffs as diagnostics."""
    for cat, title, kinds in cats:
        bad = []
        count = 0
        for (kind, name), val in sorted(ref_map.items()):
            if kind not in kinds:
                continue
            count += 1
            if (kind, name) not in our_map:
                bad.append("%s %s: missing from ours (reference: %s)" %
                           (kind, name, val))
            elif (val, our_map[(kind, name)]) in \
                    BEYOND_LAYOUT.get((kind, name), ()):
                continue
            elif our_map[(kind, name)] != val:
                bad.append("%s %s: reference %s, ours %s" %
                           (kind, name, val, our_map[(kind, name)]))
        for c, text in skipped:
            if c == cat:
                bad.append(text)
        for b in bad:
            tap.diag(b)
        tap.result(not bad, "%s%s (%d checked, %d differ)" %
                   (title, suffix, count, len(bad)))


def extras(ref, ours):
    out = []
    out += ["macro " + m for m in sorted(set(ours.macros) - set(ref.macros))
            if not m.startswith("__")]
    out += ["enumerator " + e
            for e in ours.enumerators if e not in ref.enumerators]
    out += [r for r in ours.record_order if r not in ref.records]
    for r in ours.record_order:
        if r in ref.records:
            known = {m.path for m in ref.records[r]}
            out += ["%s.%s" % (r, m.path) for m in ours.records[r]
                    if m.path not in known]
    return out


def m32_works():
    probe = "#include <linux/types.h>\n#include <linux/ioctl.h>\n" \
            "int x[sizeof(long) == 4 ? 1 : -1];\n"
    res = subprocess.run(["gcc", "-x", "c", "-S", "-o", "/dev/null"] +
                         M32_FLAGS + ["-"], input=probe, capture_output=True,
                         text=True)
    return res.returncode == 0


def standalone(ours, workdir):
    """Our header must build in userspace with no help (-D__user=)."""
    errors = []
    src = os.path.join(workdir, "standalone.c")
    with open(src, "w") as f:
        f.write("#include <linux/vfio.h>\nint main(void) { return 0; }\n")
    for cc, extra in (("gcc", ["-std=c11", "-Wall", "-Wextra", "-Werror",
                               "-pedantic"]),
                      ("g++", ["-Wall", "-Wextra", "-Werror",
                               "-Wno-pedantic"])):
        if not shutil.which(cc):
            continue
        cmd = [cc, "-fsyntax-only", "-x", "c" if cc == "gcc" else "c++"] + \
            extra + ["-I", ours.incdir, src]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            errors.append("%s: %s" % (" ".join(cmd), res.stderr))
    return errors


def check(ours_path, ref_path, keep=False, use_m32=True, quiet=False):
    if not os.path.exists(ref_path):
        print("TAP version 13\n1..0 # SKIP reference header %s not found" %
              ref_path)
        return KSFT_SKIP
    workdir = tempfile.mkdtemp(prefix="uapi-abi-")
    ref = ours = None
    saved = sys.stdout
    if quiet:
        sys.stdout = open(os.devnull, "w")
    try:
        tap = Tap(4 + len(CATEGORIES) + 1)
        tap.diag("reference: %s" % ref_path)
        tap.diag("ours:      %s" % ours_path)
        try:
            ref = Header(ref_path)
        except Exception as e:	# noqa: BLE001 - reported, not raised
            tap.diag(e)
            for _ in range(4 + len(CATEGORIES) + 1):
                tap.result(False, "reference header unusable")
            return KSFT_FAIL
        ours_err = None
        try:
            ours = Header(ours_path)
        except Exception as e:	# noqa: BLE001 - reported, not raised
            ours_err = str(e)
        tap.diag("reference has %d macros, %d enumerators, %d records, "
                 "%d members" % (len(ref.macros), len(ref.enumerators),
                                 len(ref.records),
                                 sum(len(v) for v in ref.records.values())))
        if ours_err:
            tap.diag(ours_err)
            tap.result(False, "our header preprocesses")
            for _ in range(3 + len(CATEGORIES) + 1):
                tap.result(False, "not checked: our header is unusable")
            return KSFT_FAIL

        src, skipped = generate(ref, ours)
        with open(os.path.join(workdir, "abi.c"), "w") as f:
            f.write(src)
        errs = standalone(ours, workdir)
        tap.diag("\n".join(errs))
        tap.result(not errs, "our header compiles in userspace as is "
                   "(C11 -pedantic and C++, -Werror)")

        ref_lines, err = build_and_run(src, ref, workdir, "reference", [])
        if err:
            tap.diag(err)
        tap.result(ref_lines is not None,
                   "program builds and runs against the reference header")
        our_lines, err2 = build_and_run(src, ours, workdir, "ours",
                                        ["-DABI_OURS"])
        if err2:
            tap.diag(err2)
        tap.result(our_lines is not None,
                   "program builds and runs against our header")
        if ref_lines is None or our_lines is None:
            for cat in CATEGORIES:
                tap.result(False, cat[1] + " (not checked)")
        else:
            compare(tap, as_map(ref_lines), as_map(our_lines), skipped,
                    CATEGORIES)

        layout = [("i386", "i386 layout: record sizes, alignment, member "
                   "offsets, sizes and types",
                   {"size", "align", "offset", "msize", "esize", "mtype"})]
        if not use_m32:
            tap.result(True, layout[0][1], skip="disabled")
        elif not m32_works():
            tap.result(True, layout[0][1], skip="gcc -m32 cannot compile")
        else:
            r32, e1 = build_and_run(src, ref, workdir, "ref32", M32_FLAGS)
            o32, e2 = build_and_run(src, ours, workdir, "ours32",
                                    M32_FLAGS + ["-DABI_OURS"])
            if e1 or e2:
                tap.diag(e1 or e2)
                tap.result(False, layout[0][1])
            else:
                sk = [("i386", t) for c, t in skipped
                      if c in ("types", "members")]
                compare(tap, as_map(r32), as_map(o32), sk, layout)

        more = extras(ref, ours)
        unknown = [x for x in more if x not in BEYOND_SYMBOLS]
        if more:
            tap.diag("only in ours:")
            tap.diag("\n".join("  %s%s" % (x, "" if x in BEYOND_SYMBOLS
                                           else "  <- not sanctioned")
                               for x in more))
        tap.result(not unknown, "symbols only in ours: %d, all of them the "
                   "sanctioned VF-token bind (%d not)" %
                   (len(more), len(unknown)))

        ok = tap.failed == 0
        tap.diag("%s: %d of %d failed" % ("PASS" if ok else "FAIL",
                                         tap.failed, tap.n))
        if keep:
            tap.diag("work files kept in %s" % workdir)
        return KSFT_PASS if ok else KSFT_FAIL
    finally:
        if quiet:
            sys.stdout.close()
            sys.stdout = saved
        for h in (ref, ours):
            if h:
                h.cleanup()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


# Each mutation is (what it shows, regex, replacement) applied once.
MUTATIONS = [
    ("macro value changed", r"(#define VFIO_NOIOMMU_IOMMU\s+)8", r"\g<1>9"),
    ("macro type changed", r"(#define VFIO_API_VERSION\s+)0", r"\g<1>0U"),
    ("macro removed", r"#define VFIO_DEVICE_FEATURE_BUS_MASTER 10\n", ""),
    ("string macro changed", r'"vfio-ap"', '"vfio_ap"'),
    ("ioctl number changed",
     r"(VFIO_DEVICE_RESET\s+_IO\(VFIO_TYPE, VFIO_BASE \+ )11", r"\g<1>12"),
    ("enumerator value changed", r"VFIO_PCI_NUM_REGIONS = 9",
     "VFIO_PCI_NUM_REGIONS = 10"),
    ("function-like macro changed",
     r"\(\(0x1f >> \(\(state\) & VFIO_DEVICE_STATE_MASK\)\) & 1\)",
     "((0x3f >> ((state) & VFIO_DEVICE_STATE_MASK)) & 1)"),
    ("member removed", r"(struct vfio_region_info \{.*?)\t__u32\tcap_offset;"
     r"\n", r"\1"),
    ("members swapped", r"__u32\tnum_regions;\n\t__u32\tnum_irqs;",
     "__u32\tnum_irqs;\n\t__u32\tnum_regions;"),
    ("member signedness changed",
     r"(struct vfio_irq_info \{.*?)__u32\tcount;", r"\1__s32\tcount;"),
    ("__u64 became __aligned_u64 (i386 offset)",
     r"__u64\tpgsize_bitmap;", "__aligned_u64\tpgsize_bitmap;"),
    ("__aligned_u64 became __u64 (i386 alignment)",
     r"(struct vfio_device_feature_migration \{\n\t)__aligned_u64",
     r"\1__u64"),
    ("flexible array became fixed",
     r"(struct\s+vfio_iova_range\s+iova_ranges)\[\];", r"\1[1];"),
    ("struct removed",
     r"struct vfio_device_feature_mig_data_size \{\n.*?\n\};\n", ""),
    ("userspace build broken", r"#ifndef __KERNEL__\n#ifndef __user\n"
     r"#define __user\n#endif\n#endif\n", ""),
]


def mutate(ours_path, ref_path):
    print("TAP version 13")
    print("1..%d" % (len(MUTATIONS) + 1))
    with open(ours_path) as f:
        pristine = f.read()
    failed = 0
    rc = check(ours_path, ref_path, quiet=True)
    print("%s 1 unmutated header passes" % ("ok" if rc == 0 else "not ok"))
    failed += rc != 0
    tmp = tempfile.mkdtemp(prefix="uapi-abi-mut-")
    try:
        for n, (what, pat, rep) in enumerate(MUTATIONS, 2):
            text, hits = re.subn(pat, rep, pristine, count=1, flags=re.S)
            if not hits:
                print("# pattern for '%s' no longer matches" % what)
                print("not ok %d %s is caught" % (n, what))
                failed += 1
                continue
            path = os.path.join(tmp, "vfio.h")
            with open(path, "w") as f:
                f.write(text)
            rc = check(path, ref_path, quiet=True)
            print("%s %d %s is caught" % ("ok" if rc == KSFT_FAIL
                                         else "not ok", n, what))
            failed += rc != KSFT_FAIL
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return KSFT_FAIL if failed else KSFT_PASS


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts = {a for a in argv[1:] if a.startswith("--")}
    if len(args) != 3 or args[0] not in ("check", "mutate"):
        sys.stderr.write(__doc__)
        return 2
    if args[0] == "mutate":
        return mutate(args[1], args[2])
    return check(args[1], args[2], keep="--keep" in opts,
                 use_m32="--no-m32" not in opts)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
