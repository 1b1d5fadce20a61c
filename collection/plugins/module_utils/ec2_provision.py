# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# What every module of this collection does: check its parameters the standard way (argument_spec,
# generated from the CLI's declarations), hand them to `ec2-provision --json` as one request, and
# answer what the engine answered. No provisioning logic lives here.
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible.module_utils.basic import AnsibleModule


def _set(target, key, value):
    head, _, rest = key.partition('.')
    if rest:
        _set(target.setdefault(head, {}), rest, value)
    else:
        target[head] = value


def run_module(command, argument_spec, keys, check_mode, required_when_present):
    # The spec is whole (state and binary_path included), generated beside the module's docs.
    required_if = [('state', 'present', required_when_present)] if required_when_present else []
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=check_mode, required_if=required_if)

    options = {}
    for param, key in keys.items():
        value = module.params.get(param)
        if value is not None:
            _set(options, key, value)
    request = dict(command=command, state=module.params.get('state') or 'present', check=module.check_mode, options=options)

    binary = module.params['binary_path'] or module.get_bin_path('ec2-provision', required=True)
    rc, out, err = module.run_command([binary, '--json'], data=json.dumps(request))
    try:
        answer = json.loads(out)
    except ValueError:
        lines = (err or '').strip().splitlines()
        module.fail_json(msg=lines[-1] if lines else '%s --json exited %d without an answer' % (binary, rc), rc=rc)
    if answer.pop('failed', False):
        # msg names the option by its parameter; the library's name for it is no news to a task.
        answer.pop('field', None)
        module.fail_json(msg=answer.pop('msg', 'ec2-provision failed'), **answer)
    diff = answer.pop('diff', None)
    if diff is not None and module._diff:
        answer['diff'] = diff
    module.exit_json(**answer)
