#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make-series.py - this tree as a git format-patch series against Linux 6.12

Usage: make-series.py [--out DIR] [--work DIR] [--no-checkpatch]

Reads intree/series/series (the steps, see its header) and the commit
message of each step (intree/series/<step>.msg), builds a small git
repository holding the pristine 6.12 versions of every path the series
touches, commits one step after the other and writes the patches with
`git format-patch` into build/series/ (0000 is the cover letter, from
intree/series/cover.msg).

Checks, each of which fails the run with the step's name:
  - every file of our tree belongs to a step or to the `exclude` list;
  - every line rule matches a line of its file and no line is claimed
    twice; a step changes something;
  - the last step's tree equals our tree, byte for byte;
  - checkpatch.pl --strict is clean on every patch (FILE_PATH_CHANGES is
    replaced by a stricter check: every file a patch adds is covered by a
    MAINTAINERS entry in the tree that patch leaves; a step can ignore
    more with `checkpatch-ignore TYPE`);
  - every subject is unique and no line of a message is over 75 columns.

Files that grow across steps (Kconfig, Makefiles, MAINTAINERS) are never
written out per step: a step's version of such a file is the final file
minus the lines that later steps claim.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))
SERIES_DIR = os.path.join(HERE, "series")
TARBALL = os.environ.get("SRC_TARBALL", "/usr/src/linux-source-6.12.tar.xz")
# Fixed dates: the same tree gives the same patches, byte for byte.
DATE = "2024-11-17 12:00:00 +0000"


def die(msg):
    sys.stderr.write("make-series: error: %s\n" % msg)
    sys.exit(1)


def log(msg):
    print("make-series: %s" % msg, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ---- the description ----

class Rule:
    """One line of a step: PATH, PATH /RE/, PATH /RE/,/RE/ or -PATH."""

    def __init__(self, lineno, path, remove=False, start=None, end=None):
        self.lineno = lineno
        self.path = path
        self.remove = remove
        self.start = start
        self.end = end
        self.dir = False

    def is_lines(self):
        return self.start is not None

    def __str__(self):
        s = ("-" if self.remove else "") + self.path
        if self.start:
            s += " /%s/" % self.start.pattern
            if self.end is BLOCK:
                s += ",..."
            elif self.end:
                s += ",/%s/" % self.end.pattern
        return "line %d: %s" % (self.lineno, s)


class Step:
    def __init__(self, name, lineno):
        self.name = name
        self.lineno = lineno
        self.rules = []
        self.cp_ignore = []
        self.index = 0


# "/RE/,...": through the end of the block, the line before the next one
# that starts in column 0 (a Kconfig entry with its help, a Makefile line
# with its continuations).
BLOCK = re.compile(r"^\S")


def parse_regex(text, lineno):
    """'/a/' or '/a/,/b/' -> (re, re or None); '\\/' stands for '/'."""
    def one(s):
        if not s.startswith("/"):
            die("series line %d: expected /regex/ in %r" % (lineno, text))
        i = 1
        while i < len(s):
            if s[i] == "\\" and i + 1 < len(s):
                i += 2
                continue
            if s[i] == "/":
                break
            i += 1
        if i >= len(s):
            die("series line %d: unterminated /regex/ in %r" % (lineno, text))
        pat = s[1:i].replace("\\/", "/")
        try:
            return re.compile(pat), s[i + 1:]
        except re.error as e:
            die("series line %d: %s" % (lineno, e))

    start, rest = one(text)
    end = None
    if rest == ",...":
        return start, BLOCK
    if rest.startswith(","):
        end, rest = one(rest[1:])
    if rest.strip():
        die("series line %d: trailing text %r" % (lineno, rest))
    return start, end


def parse_series(path):
    steps, excludes, meta = [], [], {}
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            word, _, rest = line.partition(" ")
            rest = rest.strip()
            if word == "step":
                if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", rest):
                    die("series line %d: bad step name %r" % (lineno, rest))
                if any(s.name == rest for s in steps):
                    die("series line %d: step %s twice" % (lineno, rest))
                steps.append(Step(rest, lineno))
            elif word == "exclude":
                excludes.append(rest.rstrip("/"))
            elif word in ("author", "base"):
                meta[word] = rest
            elif word == "keep":
                kpath, _, kre = rest.partition(" ")
                meta.setdefault("keep", []).append(
                    (kpath, parse_regex(kre.strip(), lineno)[0], lineno))
            elif word == "checkpatch-ignore":
                if not steps:
                    die("series line %d: checkpatch-ignore before a step" %
                        lineno)
                steps[-1].cp_ignore.append(rest)
            else:
                if not steps:
                    die("series line %d: a rule before the first step" % lineno)
                remove = word.startswith("-")
                p = word[1:] if remove else word
                start = end = None
                if rest:
                    if remove:
                        die("series line %d: -PATH takes no regex" % lineno)
                    start, end = parse_regex(rest, lineno)
                r = Rule(lineno, p.rstrip("/"), remove, start, end)
                r.dir = p.endswith("/") and not remove
                if r.dir and start:
                    die("series line %d: a directory takes no regex" % lineno)
                steps[-1].rules.append(r)
    for i, s in enumerate(steps):
        s.index = i
    if "author" not in meta:
        die("series: no `author NAME <EMAIL>` line")
    return steps, excludes, meta


# ---- MAINTAINERS ----

def maint_paragraphs(lines):
    """Split into paragraphs: (start, end) line index ranges, end exclusive."""
    paras, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "":
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].strip() != "":
            j += 1
        paras.append((i, j))
        i = j
    return paras


def is_section(lines, a, b):
    return b - a >= 2 and all(re.match(r"^[A-Z]:\t", l) for l in lines[a + 1:b])


def pattern_regex(pat):
    """A MAINTAINERS F: pattern as a regex over file paths."""
    rx = ""
    for ch in pat:
        if ch == "*":
            rx += "[^/]*"
        elif ch == "?":
            rx += "[^/]"
        else:
            rx += re.escape(ch)
    if pat.endswith("/"):
        return re.compile(rx + ".*")
    return re.compile(rx + "(/.*)?")


def maint_drop_dead(lines, tree_files):
    """Drop F:/X: patterns into drivers/vfio/ that match no file of the
    tree, and the sections that are left without any file pattern."""
    out = list(lines)
    start = next(i for i, l in enumerate(out) if l.startswith("Maintainers List"))
    drop = set()
    for a, b in maint_paragraphs(out):
        if a < start or not is_section(out, a, b):
            continue
        had = left = 0
        for i in range(a + 1, b):
            m = re.match(r"^([FXNK]):\t(\S+)", out[i])
            if not m:
                continue
            had += 1
            if m.group(1) in "FX" and m.group(2).startswith("drivers/vfio/"):
                rx = pattern_regex(m.group(2))
                if not any(rx.fullmatch(f) for f in tree_files):
                    drop.add(i)
                    continue
            left += 1
        if had and not left:
            drop.update(range(a, b + 1))      # with its blank line
    return [l for i, l in enumerate(out) if i not in drop]


def maint_insert(lines, ours):
    """Put our sections (title -> lines) in place: a section of the same
    title is replaced, a new one goes in alphabetical order."""
    out = list(lines)
    for title, body in ours:
        start = next(i for i, l in enumerate(out)
                     if l.startswith("Maintainers List"))
        sections = [(a, b) for a, b in maint_paragraphs(out)
                    if a > start and is_section(out, a, b)]
        same = [(a, b) for a, b in sections if out[a] == title]
        if same:
            a, b = same[0]
            out[a:b] = body
            continue
        pos = None
        for a, b in sections:
            if out[a] == "THE REST" or out[a].upper() > title.upper():
                pos = a
                break
        out[pos:pos] = body + [""]
    return out


def our_maint_sections(path):
    lines = read_lines(path)
    return [(lines[a], lines[a:b]) for a, b in maint_paragraphs(lines)
            if is_section(lines, a, b)]


def maint_coverage(maint_text, path):
    lines = maint_text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("Maintainers List"))
    for a, b in maint_paragraphs(lines):
        if a < start or not is_section(lines, a, b) or lines[a] == "THE REST":
            continue
        for l in lines[a + 1:b]:
            m = re.match(r"^F:\t(\S+)", l)
            if m and pattern_regex(m.group(1)).fullmatch(path):
                return lines[a]
    return None


# ---- files ----

def read_lines(path):
    with open(path, newline="") as f:
        return f.read().split("\n")


def tree_files():
    out = subprocess.run(["git", "-C", TOP, "ls-files", "-z"], check=True,
                         capture_output=True).stdout.decode()
    return sorted(p for p in out.split("\0") if p and os.path.isfile(os.path.join(TOP, p)))


def under(path, prefix):
    return path == prefix or path.startswith(prefix + "/")


def pristine_tree(work):
    """The pristine 6.12 files the series may touch, unpacked once."""
    dest = os.path.join(work, "pristine")
    stamp = os.path.join(dest, ".stamp")
    key = "%s %d" % (TARBALL, os.stat(TARBALL).st_mtime)
    if os.path.exists(stamp) and open(stamp).read() == key:
        return dest
    log("unpacking the pristine files from %s" % TARBALL)
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    top = subprocess.run("tar -tJf %s | head -n1" % TARBALL, shell=True,
                         check=True, capture_output=True,
                         text=True).stdout.strip().split("/")[0]
    members = ["drivers/vfio", "include/linux", "include/uapi/linux",
               "Documentation/driver-api", "MAINTAINERS",
               "tools/testing/selftests/Makefile"]
    run(["tar", "-xJf", TARBALL, "-C", dest, "--strip-components=1"] +
        ["%s/%s" % (top, m) for m in members])
    with open(stamp, "w") as f:
        f.write(key)
    return dest


# ---- deriving each step's tree ----

class Series:
    def __init__(self, steps, excludes, meta, pristine):
        self.steps = steps
        self.meta = meta
        self.pristine = pristine
        ours = [p for p in tree_files() if p != "MAINTAINERS"]
        self.excluded = [p for p in ours if any(under(p, e) for e in excludes)]
        for e in excludes:
            if not any(under(p, e) for p in ours + ["MAINTAINERS"]):
                die("series: `exclude %s` names nothing in the tree" % e)
        self.files = [p for p in ours if p not in self.excluded]
        self.owner = {}
        dirs = []
        for s in steps:
            for r in s.rules:
                if r.remove or r.is_lines():
                    continue
                if r.dir:
                    if not any(under(p, r.path) for p in self.files):
                        die("step %s %s: no file of the tree there" %
                            (s.name, r))
                    dirs.append((s, r))
                    continue
                if r.path != "MAINTAINERS" and r.path not in self.files:
                    if r.path in self.excluded:
                        die("step %s %s: the file is excluded" % (s.name, r))
                    die("step %s %s: no such file in the tree" % (s.name, r))
                if r.path in self.owner:
                    die("step %s %s: already added by step %s" %
                        (s.name, r, self.owner[r.path].name))
                self.owner[r.path] = s
        # A directory takes the files under it that no step names.
        for s, r in dirs:
            for p in self.files:
                if under(p, r.path) and p not in self.owner:
                    self.owner[p] = s
        if "MAINTAINERS" not in self.owner:
            die("series: no step adds MAINTAINERS")
        lost = [p for p in self.files if p not in self.owner]
        if lost:
            die("files of the tree in no step (name them in a step of "
                "intree/series/series, or exclude them):\n  " +
                "\n  ".join(lost))
        # Pristine files removed, and by which step.
        self.removed = {}
        for s in steps:
            for r in s.rules:
                if not r.remove:
                    continue
                hit = False
                for root, _, names in os.walk(pristine):
                    for n in names:
                        rel = os.path.relpath(os.path.join(root, n), pristine)
                        if under(rel, r.path) and rel not in self.removed:
                            self.removed[rel] = s
                            hit = True
                if not hit:
                    die("step %s %s: no pristine file there" % (s.name, r))
        self.final = {p: read_lines(os.path.join(TOP, p)) for p in self.files}
        pm = read_lines(os.path.join(pristine, "MAINTAINERS"))
        self.pristine_maint = pm
        final_set = set(self.files)
        for p in self.pristine_files():
            if p not in self.removed:
                final_set.add(p)
        self.final["MAINTAINERS"] = maint_insert(
            maint_drop_dead(pm, final_set),
            our_maint_sections(os.path.join(TOP, "MAINTAINERS")))
        self.claims = self.compute_claims()
        # `keep PATH /RE/`: what the step that adds PATH keeps of it must
        # match RE (blank lines aside): a new Kconfig entry or Makefile
        # line that no step takes does not slip into that step unseen.
        for kpath, rx, lineno in meta.get("keep", []):
            if kpath not in self.owner:
                die("series line %d: keep %s: no step adds it" % (lineno, kpath))
            text = self.content(kpath, self.owner[kpath].index)
            stray = [l for l in text.split("\n") if l and not rx.search(l)]
            if stray:
                die("%s: lines no step takes (they would go to step %s):\n  %s"
                    % (kpath, self.owner[kpath].name, "\n  ".join(stray)))

    def pristine_files(self):
        for root, _, names in os.walk(self.pristine):
            for n in names:
                rel = os.path.relpath(os.path.join(root, n), self.pristine)
                if rel != ".stamp":
                    yield rel

    def compute_claims(self):
        """claims[path][line index] = the step that adds that line.

        A line several rules match goes to the latest step: a step can
        take a block and a later one some lines inside it.  A rule that
        ends up owning no line is an error (stale or shadowed)."""
        claims, owned = {}, []
        for s in self.steps:
            for r in s.rules:
                if not r.is_lines():
                    continue
                if r.path not in self.final:
                    die("step %s %s: no such file in the tree" % (s.name, r))
                own = self.owner.get(r.path)
                if own is None or own.index > s.index:
                    die("step %s %s: the lines of a file can only be added "
                        "from the step that adds the file on" % (s.name, r))
                lines = self.final[r.path]
                c = claims.setdefault(r.path, {})
                hit, i = [], 0
                while i < len(lines):
                    if not r.start.search(lines[i]):
                        i += 1
                        continue
                    j = i
                    if r.end is BLOCK:
                        j = i + 1
                        while j < len(lines) and not BLOCK.search(lines[j]):
                            j += 1
                        j -= 1
                    elif r.end:
                        j = i + 1
                        while j < len(lines) and not r.end.search(lines[j]):
                            j += 1
                        if j >= len(lines):
                            die("step %s %s: no end of range after line %d" %
                                (s.name, r, i + 1))
                    for k in range(i, j + 1):
                        c[k] = (s, r)
                        hit.append(k)
                    i = j + 1
                owned.append((s, r, hit))
        for s, r, hit in owned:
            if not any(claims[r.path][k][1] is r for k in hit):
                die("step %s %s: matches no line of %s that a later step "
                    "does not take" % (s.name, r, r.path))
        return {p: {k: v[0] for k, v in c.items()} for p, c in claims.items()}

    @staticmethod
    def tidy(text):
        """Blank lines of an intermediate version: never two in a row,
        none at the start or the end."""
        text = re.sub(r"\n\n\n+", "\n\n", text)
        text = re.sub(r"\n\n+$", "\n", text)
        return text.lstrip("\n")

    def content(self, path, k):
        """The text of path after step k, or None when absent."""
        own = self.owner.get(path)
        if own is not None and own.index <= k:
            c = self.claims.get(path, {})
            lines = [l for i, l in enumerate(self.final[path])
                     if i not in c or c[i].index <= k]
            text = "\n".join(lines)
            final = "\n".join(self.final[path])
            if c and self.tidy(final) == final:
                text = self.tidy(text)
            return text
        rem = self.removed.get(path)
        if rem is not None and rem.index <= k:
            return None
        if path == "MAINTAINERS":
            present = set(p for p in self.all_paths()
                          if self.content(p, k) is not None)
            return "\n".join(maint_drop_dead(self.pristine_maint, present))
        pp = os.path.join(self.pristine, path)
        if os.path.isfile(pp):
            with open(pp, newline="") as f:
                return f.read()
        return None

    def all_paths(self):
        s = set(self.files) | set(self.removed)
        s |= set(p for p in self.owner if p != "MAINTAINERS")
        for p in self.files:
            if os.path.isfile(os.path.join(self.pristine, p)):
                s.add(p)
        return sorted(s)


def message(step, author):
    path = os.path.join(SERIES_DIR, step.name + ".msg")
    if not os.path.isfile(path):
        die("step %s: no commit message %s" % (step.name, path))
    with open(path) as f:
        text = f.read().strip("\n")
    lines = text.split("\n")
    if len(lines) < 3 or lines[1] != "":
        die("%s: subject line, blank line, body" % path)
    for n, l in enumerate(lines, 1):
        if len(l) > 75:
            die("%s:%d: over 75 columns" % (path, n))
    return text + "\n\nSigned-off-by: %s\n" % author


# ---- the repository and the patches ----

def git(repo, *args, **kw):
    env = dict(os.environ, GIT_AUTHOR_DATE=DATE, GIT_COMMITTER_DATE=DATE)
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return subprocess.run(["git", "-C", repo] + list(args), check=True,
                          env=env, **kw)


def build_repo(series, repo, author):
    m = re.fullmatch(r"(.*?) <(.*)>", author)
    name, email = m.group(1), m.group(2)
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    git(repo, "init", "-q")
    for k, v in (("user.name", name), ("user.email", email),
                 ("core.autocrlf", "false"), ("commit.gpgsign", "false")):
        git(repo, "config", k, v)
    paths = series.all_paths() + ["MAINTAINERS"]

    def write(k):
        for p in paths:
            text = series.content(p, k)
            dst = os.path.join(repo, p)
            if text is None:
                if os.path.exists(dst):
                    os.unlink(dst)
                continue
            os.makedirs(os.path.dirname(dst) or repo, exist_ok=True)
            with open(dst, "w", newline="") as f:
                f.write(text)
            src = os.path.join(TOP, p)
            if p in series.owner and os.access(src, os.X_OK) and \
                    series.owner[p].index <= k:
                os.chmod(dst, 0o755)
        git(repo, "add", "-A", ".")

    write(-1)
    git(repo, "commit", "-q", "-m", "Linux 6.12 (pristine files)")
    git(repo, "tag", "base")
    for s in series.steps:
        write(s.index)
        st = git(repo, "status", "--porcelain", capture_output=True,
                 text=True).stdout
        if not st.strip():
            die("step %s changes nothing" % s.name)
        msgf = os.path.join(repo, ".git", "MSG")
        with open(msgf, "w") as f:
            f.write(message(s, author))
        git(repo, "commit", "-q", "-F", msgf)
    # The last step's tree is ours, byte for byte.
    bad = []
    for p in series.files:
        with open(os.path.join(TOP, p), "rb") as a, \
                open(os.path.join(repo, p), "rb") as b:
            if a.read() != b.read():
                bad.append(p)
        if os.access(os.path.join(TOP, p), os.X_OK) != \
                os.access(os.path.join(repo, p), os.X_OK):
            bad.append(p + " (mode)")
    for p in series.removed:
        if p not in series.owner and os.path.exists(os.path.join(repo, p)):
            bad.append(p + " (should be removed)")
    if bad:
        die("the last step's tree differs from ours:\n  " + "\n  ".join(bad))


def write_patches(repo, out, nsteps):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    git(repo, "format-patch", "-q", "--no-renames", "--no-signature",
        "--cover-letter", "--subject-prefix=PATCH", "-o", out, "base..HEAD")
    patches = sorted(f for f in os.listdir(out) if f.endswith(".patch"))
    if len(patches) != nsteps + 1:
        die("format-patch wrote %d files for %d steps" % (len(patches), nsteps))
    cover = os.path.join(out, patches[0])
    with open(os.path.join(SERIES_DIR, "cover.msg")) as f:
        subj, _, blurb = f.read().strip("\n").partition("\n\n")
    with open(cover) as f:
        text = f.read()
    text = text.replace("*** SUBJECT HERE ***", subj)
    text = text.replace("*** BLURB HERE ***", blurb.strip("\n"))
    with open(cover, "w") as f:
        f.write(text)
    return [os.path.join(out, p) for p in patches]


def checkpatch(series, repo, patches, logf):
    cp = os.environ.get("CHECKPATCH",
                        os.path.join(TOP, "build/linux-tools/scripts/checkpatch.pl"))
    if not os.path.exists(cp):
        die("%s missing: run `make ksrc`" % cp)
    bad = 0
    with open(logf, "w") as lf:
        for k, p in enumerate(patches[1:]):
            name = os.path.basename(p)
            ignore = ",".join(["FILE_PATH_CHANGES"] +
                              series.steps[k].cp_ignore)
            r = subprocess.run([cp, "--strict", "--no-tree", "--quiet",
                                "--ignore", ignore, p],
                               capture_output=True, text=True)
            lf.write("== %s\n%s" % (name, r.stdout))
            if r.returncode or r.stdout.strip():
                bad += 1
                sys.stderr.write("make-series: checkpatch: %s:\n%s" %
                                 (name, r.stdout))
            # FILE_PATH_CHANGES, made exact: a MAINTAINERS entry covers
            # every file the patch adds, in the tree it leaves.
            rev = "HEAD~%d" % (len(patches) - 2 - k)
            added = git(repo, "diff", "--no-renames", "--name-only",
                        "--diff-filter=A", rev + "~", rev,
                        capture_output=True, text=True).stdout.split()
            maint = git(repo, "show", rev + ":MAINTAINERS",
                        capture_output=True, text=True).stdout
            for a in added:
                sec = maint_coverage(maint, a)
                if sec is None:
                    bad += 1
                    sys.stderr.write("make-series: %s: %s is in no "
                                     "MAINTAINERS entry\n" % (name, a))
                lf.write("   %s: %s\n" % (a, sec))
    if bad:
        die("checkpatch: %d problem(s); see %s" % (bad, logf))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(TOP, "build", "series"))
    ap.add_argument("--work", default=os.path.join(TOP, "build", "series-work"))
    ap.add_argument("--no-checkpatch", action="store_true")
    args = ap.parse_args()
    args.out = os.path.abspath(args.out)
    args.work = os.path.abspath(args.work)

    steps, excludes, meta = parse_series(os.path.join(SERIES_DIR, "series"))
    os.makedirs(args.work, exist_ok=True)
    series = Series(steps, excludes, meta, pristine_tree(args.work))
    repo = os.path.join(args.work, "repo")
    build_repo(series, repo, meta["author"])
    patches = write_patches(repo, args.out, len(steps))
    subjects = [l for p in patches[1:] for l in open(p) if l.startswith("Subject:")]
    if len(set(subjects)) != len(subjects):
        die("two steps have the same subject")
    if not args.no_checkpatch:
        checkpatch(series, repo, patches, os.path.join(args.out, "checkpatch.log"))
    with open(os.path.join(args.out, "excluded.txt"), "w") as f:
        f.write("".join(p + "\n" for p in series.excluded))
    with open(os.path.join(args.out, "carried.txt"), "w") as f:
        f.write("".join(p + "\n" for p in series.files))
    log("%d patches in %s (checkpatch %s); last step's tree == ours" %
        (len(steps), args.out, "skipped" if args.no_checkpatch else "clean"))


if __name__ == "__main__":
    main()
