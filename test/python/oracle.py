# Python itself as the oracle for lib/settings/configparser.ts and lib/settings/pyregex.ts: reads a
# JSON list of cases on stdin, answers a JSON list on stdout. One process for a whole table.
#   {"ini": text}                 -> {"error": kind, "line": n} or {"sections": {name: {option: value or {"error": kind}}}}
#   {"re": pattern, "subjects": [...]} -> {"error": message} or {"match": [bool, ...]}
import configparser
import io
import json
import re
import sys
import warnings

warnings.simplefilter('ignore')


def ini_case(text):
    cp = configparser.ConfigParser()
    try:
        # As ec2.py's config.read(path): a text file, universal newlines (read_string would split on \n only).
        cp.read_file(io.StringIO(text, newline=None), '<ec2.ini>')
    except configparser.Error as e:
        line = getattr(e, 'lineno', None)
        if isinstance(e, configparser.ParsingError) and not isinstance(e, configparser.MissingSectionHeaderError):
            line = e.errors[0][0]
        return {'error': type(e).__name__, 'line': line}
    out = {}
    for section in cp.sections():
        values = {}
        for option in cp.options(section):
            try:
                values[option] = cp.get(section, option)
            except configparser.Error as e:
                values[option] = {'error': type(e).__name__}
        out[section] = values
    return {'sections': out, 'defaults': dict(cp.defaults())}


def re_case(pattern, subjects):
    try:
        compiled = re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as e:
        return {'error': str(e)}
    return {'match': [compiled.match(s) is not None for s in subjects]}


cases = json.load(sys.stdin)
answers = [ini_case(c['ini']) if 'ini' in c else re_case(c['re'], c['subjects']) for c in cases]
json.dump(answers, sys.stdout)
