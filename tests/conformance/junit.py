#!/usr/bin/env python3
"""Reads the JUnit files e2e.test (ginkgo v1) writes, for tests/conformance/run-tests.sh.

  junit.py list DIR                names of the specs a --ginkgo.dryRun chose (prunes DIR)
  junit.py one DIR NAME RC TMO     the PASS/FAIL line of one per-test run (prunes DIR's JUnit
                                   of the thousands of <skipped/> cases ginkgo v1 writes)
  junit.py skips TESTS SKIPLIST    "SKIP name: reason" for each chosen test the skip list names
  junit.py group RESULTS           the FAIL lines grouped by their first error line, most first
  junit.py rescan RESULTS_DIR [TMO] the PASS/FAIL lines of a (finished or running) results dir
"""
import collections, glob, os, re, sys, xml.etree.ElementTree as ET


def squash(s, n=400):
    return re.sub(r'\s+', ' ', s or '').strip()[:n]


def failure_text(fl):
    """The message of a ginkgo v1 <failure>: its text is 'component location\\nmessage\\n
    location'; the framework's Failf prefixes the message with a timestamp."""
    text = fl.get('message') or fl.text or 'failed'
    lines = text.strip('\n').split('\n')
    if len(lines) >= 3 and re.match(r'^\S+\.go:\d+$', lines[0].strip()):
        lines = lines[1:-1]
    msg = '\n'.join(lines)
    return re.sub(r'^[A-Z][a-z]{2} +\d+ [\d:.]+: ', '', msg.strip())


def cases(d):
    out = []
    for f in sorted(glob.glob(os.path.join(d, '**', 'junit*.xml'), recursive=True)):
        try:
            tree = ET.parse(f)
        except ET.ParseError as e:
            out.append(('[junit %s]' % f, 'fail', 'unreadable JUnit file: %s' % e))
            continue
        root = tree.getroot()
        for tc in root.iter('testcase'):
            fl = tc.find('failure')
            if fl is None:
                fl = tc.find('error')
            if fl is not None:
                out.append((tc.get('name', '?'), 'fail', squash(failure_text(fl))))
            elif tc.find('skipped') is not None:
                out.append((tc.get('name', '?'), 'skip', ''))
            else:
                out.append((tc.get('name', '?'), 'pass', ''))
        for suite in [root] + list(root.iter('testsuite')):
            for tc in list(suite.findall('testcase')):
                if tc.find('skipped') is not None:
                    suite.remove(tc)
        tree.write(f, encoding='utf-8', xml_declaration=True)
    return out


def main(argv):
    mode = argv[1]
    if mode == 'list':
        for name, st, _ in cases(argv[2]):
            if st != 'skip' and not re.match(r'^\[[A-Za-z]*Suite\]$', name):
                print(name)
    elif mode == 'one':
        d, name, rc, tmo = argv[2], argv[3], int(argv[4]), argv[5]
        cs = cases(d)
        mine = [c for c in cs if c[0] == name]
        other = [c for c in cs if c[0] != name and c[1] == 'fail']
        if rc in (124, 137):
            print('FAIL %s: timed out after %ss (log: %s/log.txt)' % (name, tmo, d))
        elif any(c[1] == 'fail' for c in mine):
            print('FAIL %s: %s' % (name, [c for c in mine if c[1] == 'fail'][0][2]))
        elif other:  # [BeforeSuite] failed: the framework could not start
            print('FAIL %s: %s %s' % (name, other[0][0], other[0][2]))
        elif mine and mine[0][1] == 'pass':
            print('PASS %s' % name)
        elif mine:
            print('FAIL %s: skipped by the framework (see %s/log.txt)' % (name, d))
        else:
            print('FAIL %s: no result (exit status %d; see %s/log.txt)' % (name, rc, d))
    elif mode == 'rescan':  # the PASS/FAIL lines of a results dir, read again from its files
        for d in sorted(glob.glob(os.path.join(argv[2], 'tests', '*'))):
            try:
                name = open(os.path.join(d, 'name')).read().rstrip('\n')
                rc = int(open(os.path.join(d, 'rc')).read())
            except (OSError, ValueError):
                continue  # still running
            main(['junit.py', 'one', d, name, str(rc), argv[3] if len(argv) > 3 else '?'])
    elif mode == 'skips':
        rules = []
        for line in open(argv[3]):
            line = line.rstrip('\n')
            if not line.strip() or line.startswith('#'):
                continue
            pat, _, why = line.partition(' | ')
            rules.append((pat.strip(), why.strip()))
        for t in open(argv[2]):
            t = t.rstrip('\n')
            for pat, why in rules:
                if pat in t:
                    print('SKIP %s: %s' % (t, why))
                    break
    elif mode == 'group':
        groups = collections.OrderedDict()
        for line in open(argv[2]):
            if not line.startswith('FAIL '):
                continue
            name, _, why = line[5:].rstrip('\n').partition(': ')
            # The cause without the per-test details (namespaces, pod names, numbers, logs).
            key = re.sub(r'e2e-tests-[\w-]+|[a-z0-9-]+-\d+(-[a-z0-9]{5})?|\d+(\.\d+)?', '#', why)[:160]
            key = re.sub(r'\(log: .*', '', key)
            groups.setdefault(key, []).append((name, why))
        for key, items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            print('## %d x %s' % (len(items), items[0][1][:300]))
            for name, _ in items:
                print('   - %s' % name)
    else:
        sys.exit('unknown mode ' + mode)


if __name__ == '__main__':
    main(sys.argv)
