// Domain XML and argument parsing without a hypervisor: what the launch feeds libvirt.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { domainXml, xmlEscape, type DomainSpec } from '../../lib/provision/libvirt/xml.js';
import { parseMetadata } from '../../lib/sources/libvirt/xml.js';
import { parseForward, parseNetwork, parseVars } from '../../lib/provision/libvirt/launch.js';
import { uriHost } from '../../lib/sources/libvirt/virsh.js';

const hostile = `a'b"c&d<e>f$(touch /tmp/x);g\`id\``;

function spec(over: Partial<DomainSpec> = {}): DomainSpec {
  return {
    name: hostile, uuid: '00000000-0000-4000-8000-000000000000', type: 'qemu', memoryKiB: 262144, vcpus: 1, disk: `/pool/${hostile}.qcow2`,
    kernel: '/pool/k', initrd: '/pool/i', cmdline: 'root=/dev/vda1 ec2inv.hostname=web1', serialLog: '/var/log/x.log',
    network: { kind: 'user' }, forwards: [{ address: '127.0.0.1', hostPort: 2222, guestPort: 22 }], guestIp: '10.0.2.21',
    userNet: { cidr: '10.0.2.0/24', gateway: '10.0.2.2' },
    metadata: { groups: ['web'], pool: 'p', volume: `${hostile}.qcow2`, vars: { note: hostile }, ansibleHost: '127.0.0.1', ansiblePort: 2222 },
    ...over,
  };
}

test('every value is escaped: no raw quote, &, < or > from a value reaches the XML', () => {
  const xml = domainXml(spec());
  const escaped = xmlEscape(hostile);
  assert.equal(escaped, 'a&apos;b&quot;c&amp;d&lt;e&gt;f$(touch /tmp/x);g`id`');
  assert.ok(xml.includes(`<name>${escaped}</name>`));
  assert.ok(xml.includes(`<source file="/pool/${escaped}.qcow2"/>`));
  assert.ok(!xml.includes(hostile), 'the raw value appears nowhere');
  // Only our own markup remains once the escaped values are taken out.
  const stripped = xml.split(escaped).join('');
  assert.doesNotMatch(stripped.replace(/<[^<>]*>/g, ''), /[<>]/);
  assert.match(xml, /<qemu:arg value="user,id=ec2inv0,net=10\.0\.2\.0\/24,host=10\.0\.2\.2,hostfwd=tcp:127\.0\.0\.1:2222-10\.0\.2\.21:22"\/>/);
  assert.match(xml, /<domain type="qemu"/);
  assert.doesNotMatch(xml, /host-passthrough/);
  assert.match(domainXml(spec({ type: 'kvm' })), /<domain type="kvm"[^]*<cpu mode="host-passthrough"\/>/);
});

test('metadata round-trips, also as libvirt re-serialises it (prefix, single quotes, raw quotes in text)', () => {
  // Host variables stay out of the XML (any local user can virsh -r dumpxml); older domains that
  // carry them are still read.
  const md = spec().metadata;
  const xml = domainXml(spec());
  assert.ok(!xml.includes('note'), 'a --var value reached the domain XML');
  assert.deepEqual(parseMetadata(xml), { ...md, vars: {} });
  const withUser = { ...md, vars: {}, ansibleUser: 'deploy', seed: 'web-cidata.iso' };
  assert.deepEqual(parseMetadata(domainXml(spec({ metadata: withUser }))), withUser);
  const libvirtStyle = `<ec2inv:guest xmlns:ec2inv="https://ec2-inventory.invalid/kvm/1"><ec2inv:pool>p</ec2inv:pool><ec2inv:volume>a'b"c&amp;d&lt;e&gt;f$(touch /tmp/x);g\`id\`.qcow2</ec2inv:volume><ec2inv:groups><ec2inv:group>web</ec2inv:group></ec2inv:groups><ec2inv:vars><ec2inv:var name='note'>a'b"c&amp;d&lt;e&gt;f$(touch /tmp/x);g\`id\`</ec2inv:var></ec2inv:vars><ec2inv:ansible_host>127.0.0.1</ec2inv:ansible_host><ec2inv:ansible_port>2222</ec2inv:ansible_port></ec2inv:guest>`;
  assert.deepEqual(parseMetadata(libvirtStyle), md);
  assert.equal(parseMetadata('<domain/>'), undefined);
});

test('the cloud-init seed is a read-only CD-ROM; the guest agent gets its channel; restrict=on isolates user networking', () => {
  const xml = domainXml(spec({ seed: '/pool/web-cidata.iso', guestAgent: true, restrict: true }));
  assert.match(xml, /<disk type="file" device="cdrom"><driver name="qemu" type="raw"\/><source file="\/pool\/web-cidata\.iso"\/><target dev="hdc" bus="ide"\/><readonly\/><\/disk>/);
  assert.match(xml, /<channel type="unix"><target type="virtio" name="org\.qemu\.guest_agent\.0"\/><\/channel>/);
  assert.match(xml, /value="user,id=ec2inv0,restrict=on,/);
  const plain = domainXml(spec());
  assert.doesNotMatch(plain, /cdrom|guest_agent|restrict/);
});

test('bridge and network interfaces; no user netdev then', () => {
  const br = domainXml(spec({ network: { kind: 'bridge', name: 'br"0' }, forwards: [] }));
  assert.match(br, /<interface type="bridge"><source bridge="br&quot;0"\/>/);
  assert.doesNotMatch(br, /qemu:commandline>/);
  assert.match(domainXml(spec({ network: { kind: 'network', name: 'default' }, forwards: [] })), /<interface type="network"><source network="default"\/>/);
});

test('command-line values: forwards, networks, variables, URI hosts', () => {
  assert.deepEqual(parseForward('2222:22'), { address: '127.0.0.1', hostPort: 2222, guestPort: 22 });
  assert.deepEqual(parseForward('10.1.2.3:8080:80'), { address: '10.1.2.3', hostPort: 8080, guestPort: 80 });
  assert.deepEqual(parseForward('*:8080:80'), { address: '', hostPort: 8080, guestPort: 80 });
  assert.throws(() => parseForward('22'), /expected \[ADDR:\]HOSTPORT:GUESTPORT/);
  assert.throws(() => parseForward('70000:22'), /out of range/);
  assert.throws(() => parseForward('1:2,hostfwd=tcp::1-:2'), /expected/);
  assert.deepEqual(parseNetwork('bridge:br0'), { kind: 'bridge', name: 'br0' });
  assert.throws(() => parseNetwork('tap'), /expected user, bridge:BRIDGE or network:NAME/);
  assert.deepEqual(parseVars(['a=1', 'b=x=y', `c=${hostile}`]), { a: '1', b: 'x=y', c: hostile });
  assert.throws(() => parseVars(['no-equals']), /key=value/);
  assert.throws(() => parseVars(['$(x)=1']), /variable name/);
  assert.throws(() => parseVars(['ansible_host=1.2.3.4']), /set by the launch itself/);
  assert.equal(uriHost('qemu:///system'), '127.0.0.1');
  assert.equal(uriHost('qemu+ssh://root@hv1.example.org:2222/system?keyfile=/k'), 'hv1.example.org');
  assert.equal(uriHost('qemu+ssh://[2001:db8::1]/system'), '2001:db8::1');
});

test('domain, volume and capabilities XML are read by structure, whatever order, quotes and entities libvirt writes', async () => {
  const { readDomain, readVolume, hasHardwareVirt } = await import('../../lib/sources/libvirt/xml.js');
  // As libvirt prints it: single quotes, attributes in its own order, a cdrom before the disk, an
  // entity in a path, the log inside <serial>, and whitespace between elements.
  const dumped = `<domain id='3' type='kvm'>
  <name>web1</name>
  <devices>
    <disk device='cdrom' type='file'><driver name='qemu' type='raw'/><source file='/pool/seed.iso'/><target dev='sda' bus='sata'/><readonly/></disk>
    <disk device="disk" type="file">
      <driver type='qcow2' name='qemu'/>
      <source index='1' file='/pool/a&amp;b.qcow2'/>
      <target bus='virtio' dev='vda'/>
    </disk>
    <serial type='pty'><source path='/dev/pts/3'/><log append='off' file='/var/log/ec2inv-1.serial.log'/><target port='0'/></serial>
  </devices>
</domain>`;
  assert.deepEqual(readDomain(dumped), { type: 'kvm', diskFiles: ['/pool/a&b.qcow2'], serialLog: '/var/log/ec2inv-1.serial.log' });
  assert.deepEqual(readDomain(domainXml(spec())), { type: 'qemu', diskFiles: [`/pool/${hostile}.qcow2`], serialLog: '/var/log/x.log' });
  const overlay = `<volume type='file'>
  <name>web1.qcow2</name>
  <target><path>/pool/web1.qcow2</path><format type='qcow2'/></target>
  <backingStore><path>/pool/base&apos;s.img</path><format type='raw'/></backingStore>
</volume>`;
  assert.deepEqual(readVolume(overlay), { path: '/pool/web1.qcow2', format: 'qcow2', backingPath: "/pool/base's.img" });
  assert.deepEqual(readVolume(`<volume><target><format type="raw"/><path>/p/base.img</path></target></volume>`), { path: '/p/base.img', format: 'raw', backingPath: undefined });
  const caps = (features: string) => `<capabilities><host><cpu><arch>x86_64</arch>${features}</cpu></host><guest><os_type>hvm</os_type></guest></capabilities>`;
  assert.equal(hasHardwareVirt(caps(`<feature name='vmx'/><feature name='pdpe1gb'/>`)), true);
  assert.equal(hasHardwareVirt(caps(`<feature policy="require" name="svm"/>`)), true);
  // A feature of that name outside the host CPU (a guest's) is not the host's.
  assert.equal(hasHardwareVirt(`<capabilities><host><cpu><feature name='pdpe1gb'/></cpu></host><guest><feature name='vmx'/></guest></capabilities>`), false);
  assert.throws(() => readDomain('<domain'), /domain XML is not valid XML/);
});

test('domifaddr output: the first IPv4 address that is not loopback', async () => {
  const { parseDomifaddr } = await import('../../lib/provision/libvirt/launch.js');
  // Recorded here: virsh 9.0 `domifaddr --source agent` on the end-to-end test's Debian guest. The
  // lease source (no libvirt network with dnsmasq on these machines) prints the same table.
  const agent =
    ' Name       MAC address          Protocol     Address\n-------------------------------------------------------------------------------\n lo         00:00:00:00:00:00    ipv4         127.0.0.1/8\n -          -                    ipv6         ::1/128\n ens31      52:54:00:e8:b7:20    ipv4         10.0.2.15/24\n -          -                    ipv6         fec0::5054:ff:fee8:b720/64\n -          -                    ipv6         fe80::5054:ff:fee8:b720/64\n\n';
  assert.equal(parseDomifaddr(agent), '10.0.2.15');
  const lease = ' Name       MAC address          Protocol     Address\n-------------------------------------------------------------------------------\n vnet0      52:54:00:aa:bb:cc    ipv4         192.168.122.57/24\n';
  assert.equal(parseDomifaddr(lease), '192.168.122.57');
  assert.equal(parseDomifaddr(' Name       MAC address          Protocol     Address\n----------\n'), undefined);
});
