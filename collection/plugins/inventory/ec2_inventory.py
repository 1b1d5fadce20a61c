# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# The engine is `ec2-inventory --list` (TypeScript, npm package ec2-inventory); this file only
# hands its JSON to Ansible. What it adds over running the program as an inventory script: every
# host name, group name and value is marked unsafe, so a tag value holding a template (anyone with
# ec2:CreateTags can write one) is data, never code run on the controller.
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: ec2_inventory
short_description: EC2, RDS, Route53 and registered hosts from ec2-inventory, with ec2.py's groups
description:
  - Runs C(ec2-inventory --list) (the npm package ec2-inventory) and gives exactly the groups and
    host variables it prints as an inventory script, that is ec2.py's groups (C(tag_Role_web),
    C(us-east-1), C(type_t3_micro), Route53 names, ...), ec2.py's C(ec2_*) variables, and the hosts
    launched or registered with C(ec2-provision).
  - Every host name, group name and value is marked unsafe, so nothing that came from AWS or a
    hypervisor (tags, names, descriptions) is ever templated. An inventory script cannot do that.
  - Configuration is a YAML file whose name ends in C(ec2_inventory.yml) or C(ec2_inventory.yaml).
  - C(keyed_groups), C(groups) and C(compose) work on top of ec2.py's groups, as in any
    constructed inventory; the inventory cache options cache the program's output.
author:
  - ec2-inventory developers
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    required: true
    type: str
    choices: ['ec2inventory.provision.ec2_inventory']
  ini_path:
    description:
      - The ec2.ini to read (regions, filters, group options, cache). A relative path is relative
        to this YAML file.
      - When not set, the program's own rule applies (C(EC2_INI_PATH), else C(ec2.ini) beside it).
    type: str
  binary_path:
    description:
      - The C(ec2-inventory) program. When not set, it is looked up on C(PATH) (as after
        C(npm install -g ec2-inventory)).
    type: path
  refresh:
    description:
      - Pass C(--refresh-cache) to the program, so it asks AWS instead of answering from its own
        cache (C(cache_max_age) in the ec2.ini). Unrelated to Ansible's inventory cache.
    type: bool
    default: false
  timeout:
    description: Seconds the program may run before the inventory fails.
    type: int
    default: 600
'''

EXAMPLES = r'''
# site.ec2_inventory.yml
plugin: ec2inventory.provision.ec2_inventory
ini_path: ec2.ini
keyed_groups:
  - key: ec2_tag_Role
    prefix: role
compose:
  ansible_host: ec2_private_ip_address
groups:
  production: ec2_tag_Env == 'prod'
'''

import json
import os
import shutil
import subprocess

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

PROGRAM = 'ec2-inventory'


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'ec2inventory.provision.ec2_inventory'

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        return path.endswith(('ec2_inventory.yml', 'ec2_inventory.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        listing = self._cached_or_run(path, cache)
        self._populate(listing)

    def _cached_or_run(self, path, cache):
        # Ansible's inventory cache, the standard way: read it when asked to, refresh it on --flush-cache.
        key = self.get_cache_key(path)
        use_cache = self.get_option('cache') and cache
        update_cache = self.get_option('cache') and not cache
        if use_cache:
            try:
                return self._cache[key]
            except KeyError:
                update_cache = True
        listing = self._run_program(path)
        if update_cache:
            self._cache[key] = listing
        return listing

    def _program(self):
        configured = self.get_option('binary_path')
        if configured:
            return configured
        found = shutil.which(PROGRAM)
        if not found:
            raise AnsibleParserError('%s not found on PATH; install it (npm install -g ec2-inventory) or set binary_path' % PROGRAM)
        return found

    def _run_program(self, path):
        argv = [self._program(), '--list']
        if self.get_option('refresh'):
            argv.append('--refresh-cache')
        env = dict(os.environ)
        ini = self.get_option('ini_path')
        if ini:
            env['EC2_INI_PATH'] = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(ini))
        try:
            done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                  timeout=self.get_option('timeout'), check=False)
        except OSError as e:
            raise AnsibleParserError('%s: cannot run %s: %s' % (path, argv[0], to_native(e)))
        except subprocess.TimeoutExpired:
            raise AnsibleParserError('%s: %s --list ran longer than timeout (%ss)' % (path, argv[0], self.get_option('timeout')))
        if done.returncode != 0:
            # The program's error is one line on stderr; hand that line on as it is.
            lines = to_text(done.stderr, errors='surrogate_or_replace').strip().splitlines()
            raise AnsibleParserError('%s: %s' % (path, lines[-1] if lines else '%s --list exited %d' % (argv[0], done.returncode)))
        try:
            listing = json.loads(to_text(done.stdout, errors='surrogate_or_strict'))
        except ValueError as e:
            raise AnsibleParserError('%s: %s --list printed no JSON: %s' % (path, argv[0], to_native(e)))
        if not isinstance(listing, dict):
            raise AnsibleParserError('%s: %s --list printed JSON that is not an object' % (path, argv[0]))
        return listing

    def _populate(self, listing):
        meta = listing.get('_meta') or {}
        hostvars = meta.get('hostvars') or {}
        hosts = set()
        for group, data in listing.items():
            if group != '_meta':
                hosts.update(self._add_group(group, data))
        strict = self.get_option('strict')
        for host in sorted(hosts):
            variables = wrap_var(hostvars.get(host) or {})
            for name, value in variables.items():
                self.inventory.set_variable(host, name, value)
            # The constructed options see the same (unsafe) values: a tag is never templated there either.
            self._set_composite_vars(self.get_option('compose'), variables, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), variables, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, host, strict=strict)

    def _add_group(self, group, data):
        # ec2-inventory prints groups as ec2.py does: a list of hosts, or {hosts, vars, children}.
        name = self.inventory.add_group(wrap_var(group))
        if not isinstance(data, dict):
            data = {'hosts': data}
        members = [wrap_var(h) for h in data.get('hosts') or []]
        for host in members:
            self.inventory.add_host(host, group=name)
        for key, value in (data.get('vars') or {}).items():
            self.inventory.set_variable(name, wrap_var(key), wrap_var(value))
        for child in data.get('children') or []:
            self.inventory.add_child(name, self.inventory.add_group(wrap_var(child)))
        return members
