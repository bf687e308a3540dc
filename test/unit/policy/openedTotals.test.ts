/**
 * The totals rules against the ways a grant can be written in pieces, and the metamorphic
 * property: re-partitioning what a policy opens (addresses into random smaller CIDRs, with and
 * without except, in IPv4-mapped form too; ports into random ranges and single ports; spread over
 * rules and peers) never changes the verdict.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1NetworkPolicyEgressRule, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';
import fc from 'fast-check';
import { breadthFindings } from '../../../src/policy/walk.js';
import { API_PODS, cidrPeer, config, egressPolicy, evaluate, ids, idsAndPaths, ingressPolicy, policy, TCP_5432 } from './support.js';

const CONFIG = config();

function ruleIdsOf(rules: V1NetworkPolicyEgressRule[]): string[] {
  return ids(breadthFindings(egressPolicy(rules), CONFIG));
}

describe('ipblock-total-too-wide: evasion classes', () => {
  it('blocks spread over many rules and peers are one union', () => {
    const rules = Array.from({ length: 16 }, (_, r) => ({ to: Array.from({ length: 16 }, (_, p) => cidrPeer(`10.${r * 16 + p}.0.0/16`)), ports: [TCP_5432] }));
    const findings = breadthFindings(egressPolicy(rules), CONFIG);
    assert.deepEqual(idsAndPaths(findings), ['ipblock-total-too-wide @ spec.egress[0]']);
    assert.match(findings[0]!.reason, /admit 16,777,216 IPv4 addresses in 256 blocks, more than one \/16; this rule holds 1,048,576 of them/);
  });

  it('names the rule holding the most addresses', () => {
    const findings = breadthFindings(egressPolicy([{ to: [cidrPeer('10.0.0.0/17')], ports: [TCP_5432] }, { to: [cidrPeer('10.1.0.0/16'), cidrPeer('10.2.0.0/17')], ports: [TCP_5432] }]), CONFIG);
    assert.deepEqual(idsAndPaths(findings), ['ipblock-total-too-wide @ spec.egress[1]']);
    assert.match(findings[0]!.reason, /admit 131,072 IPv4 addresses in 3 blocks, more than one \/16; this rule holds 98,304 of them/);
  });

  it('counts overlapping blocks once: a /16 written twice and as its halves stays within one /16', () => {
    assert.deepEqual(ruleIdsOf([{ to: [cidrPeer('10.0.0.0/16'), cidrPeer('10.0.0.0/16'), cidrPeer('10.0.0.0/17'), cidrPeer('10.0.128.0/17')], ports: [TCP_5432] }]), []);
  });

  it('one address more than a /16 is too much, and except removes addresses from the count', () => {
    assert.deepEqual(ruleIdsOf([{ to: [cidrPeer('10.0.0.0/16'), cidrPeer('10.1.0.0/32')], ports: [TCP_5432] }]), ['ipblock-total-too-wide']);
    assert.deepEqual(ruleIdsOf([{ to: [cidrPeer('10.0.0.0/16', ['10.0.0.0/32']), cidrPeer('10.1.0.0/32')], ports: [TCP_5432] }]), []);
  });

  it('counts IPv4-mapped IPv6 as IPv4, and the two families separately', () => {
    const mapped = Array.from({ length: 2 }, (_, i) => cidrPeer(`::ffff:10.${i}.0.0/112`));
    assert.deepEqual(ruleIdsOf([{ to: [...mapped], ports: [TCP_5432] }]), ['ipblock-total-too-wide']);
    assert.deepEqual(ruleIdsOf([{ to: [cidrPeer('10.0.0.0/16'), cidrPeer('2001:db8::/48')], ports: [TCP_5432] }]), []);
    const v6 = [cidrPeer('2001:db8:1::/48'), cidrPeer('2001:db8:2::/49')];
    assert.deepEqual(ruleIdsOf([{ to: v6, ports: [TCP_5432] }]), ['ipblock-total-too-wide']);
  });

  it('counts ingress and egress separately', () => {
    const p = policy({
      podSelector: { matchLabels: { app: 'db' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [cidrPeer('10.0.0.0/16')], ports: [TCP_5432] }],
      egress: [{ to: [cidrPeer('10.1.0.0/16')], ports: [TCP_5432] }],
    });
    assert.deepEqual(breadthFindings(p, CONFIG), []);
  });

  it('follows the configured minimum prefix', () => {
    const rules = [{ to: [cidrPeer('10.0.0.0/24'), cidrPeer('10.0.1.0/24')], ports: [TCP_5432] }];
    assert.deepEqual(ids(breadthFindings(egressPolicy(rules), config({ limits: { minIPv4PrefixLength: 24 } }))), ['ipblock-total-too-wide']);
  });
});

describe('ports-total-too-wide: evasion classes', () => {
  it('656 ranges of 100 ports open every TCP port', () => {
    const ports: V1NetworkPolicyPort[] = Array.from({ length: 656 }, (_, i) => ({ port: 1 + i * 100, endPort: Math.min(65535, i * 100 + 100) }));
    const findings = breadthFindings(egressPolicy([{ to: [API_PODS], ports }]), CONFIG);
    assert.deepEqual(idsAndPaths(findings), ['ports-total-too-wide @ spec.egress[0].ports']);
    assert.match(findings[0]!.reason, /open 65,535 TCP ports in 656 entries, more than the allowed 100/);
  });

  it('single ports spread over rules add up; protocols and directions are separate', () => {
    const rules = Array.from({ length: 101 }, (_, i) => ({ to: [API_PODS], ports: [{ protocol: 'TCP', port: 1000 + i }] }));
    assert.deepEqual(ruleIdsOf(rules), ['ports-total-too-wide']);
    const split = [{ to: [API_PODS], ports: [{ protocol: 'TCP', port: 1, endPort: 100 }, { protocol: 'UDP', port: 1, endPort: 100 }, { protocol: 'SCTP', port: 1, endPort: 100 }] }];
    assert.deepEqual(ruleIdsOf(split), []);
  });

  it('counts a port listed twice once, and each distinct named port once', () => {
    assert.deepEqual(ruleIdsOf([{ to: [API_PODS], ports: [{ port: 1, endPort: 100 }, { port: 50, endPort: 100 }, { port: 100 }] }]), []);
    const named = Array.from({ length: 100 }, (_, i) => ({ port: 1 + i }));
    assert.deepEqual(ruleIdsOf([{ to: [API_PODS], ports: [...named, { port: 'http' }, { port: 'http' }] }]), ['ports-total-too-wide']);
    assert.deepEqual(ruleIdsOf([{ to: [API_PODS], ports: [...named.slice(1), { port: 'http' }, { port: 'http' }] }]), []);
  });
});

describe('ipblock-forbidden', () => {
  it('finds the metadata endpoints in any narrow block that admits them, in either form', () => {
    for (const cidr of ['169.254.169.254/32', '169.254.169.0/24', '::ffff:169.254.169.254/128', 'fd00:ec2::/64']) {
      assert.deepEqual(ruleIdsOf([{ to: [cidrPeer(cidr)], ports: [TCP_5432] }]), ['ipblock-forbidden'], cidr);
    }
  });

  it('is satisfied by an except that removes the forbidden range, not one that removes part of it', () => {
    assert.deepEqual(ruleIdsOf([{ to: [cidrPeer('169.254.169.0/24', ['169.254.169.254/31'])], ports: [TCP_5432] }]), []);
    const platform = config({ limits: { forbiddenCIDRs: ['10.96.0.0/30'] } });
    const partly = egressPolicy([{ to: [cidrPeer('10.96.0.0/24', ['10.96.0.0/31'])], ports: [TCP_5432] }]);
    const findings = breadthFindings(partly, platform);
    assert.deepEqual(idsAndPaths(findings), ['ipblock-forbidden @ spec.egress[0].to[0].ipBlock.cidr']);
    assert.match(findings[0]!.reason, /10\.96\.0\.0\/24 admits 10\.96\.0\.0\/30, which limits\.forbiddenCIDRs forbids/);
  });

  it('still guards the forbidden range when the width rules only warn (egress to the internet with a warning)', () => {
    const internet = egressPolicy([{ to: [cidrPeer('0.0.0.0/0', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'])], ports: [TCP_5432] }]);
    // Defaults: the /0 is denied by its width rule alone.
    assert.deepEqual(ids(evaluate(internet).findings), ['ipblock-all-addresses']);
    const relaxed = config({ rules: { 'ipblock-all-addresses': 'warn', 'ipblock-too-wide': 'warn' } });
    const verdict = evaluate(internet, { config: relaxed });
    assert.equal(verdict.allowed, false);
    assert.deepEqual(ids(verdict.findings).sort(), ['ipblock-all-addresses', 'ipblock-forbidden']);
    const wide = evaluate(egressPolicy([{ to: [cidrPeer('169.0.0.0/8')], ports: [TCP_5432] }]), { config: relaxed });
    assert.equal(wide.allowed, false);
    assert.deepEqual(ids(wide.findings).sort(), ['ipblock-forbidden', 'ipblock-too-wide']);
    // The except that removes the metadata endpoint makes the relaxed internet egress admissible.
    const safe = egressPolicy([{ to: [cidrPeer('0.0.0.0/0', ['169.254.0.0/16'])], ports: [TCP_5432] }]);
    const admitted = evaluate(safe, { config: config({ rules: { 'ipblock-all-addresses': 'off', 'ipblock-total-too-wide': 'off' } }) });
    assert.equal(admitted.allowed, true);
    assert.deepEqual(ids(admitted.findings), []);
  });

  it('denies through evaluation by default, and can be set to warn', () => {
    const p = ingressPolicy([{ from: [cidrPeer('169.254.169.254/32')], ports: [TCP_5432] }]);
    assert.equal(evaluate(p).allowed, false);
    const warned = evaluate(p, { config: config({ rules: { 'ipblock-forbidden': 'warn' } }) });
    assert.equal(warned.allowed, true);
    assert.deepEqual(ids(warned.findings), ['ipblock-forbidden']);
  });
});

describe('metamorphic: re-partitioning what a policy opens keeps its verdict', () => {
  /** A CIDR as (network, prefix) over IPv4 numbers. */
  interface Block {
    network: number;
    prefix: number;
  }
  const text = (b: Block, mapped: boolean): string => {
    const dotted = [24, 16, 8, 0].map((s) => Math.floor(b.network / 2 ** s) % 256).join('.');
    return mapped ? `::ffff:${dotted}/${b.prefix + 96}` : `${dotted}/${b.prefix}`;
  };
  const inside = (inner: Block, outer: Block): boolean =>
    inner.prefix >= outer.prefix && Math.floor(inner.network / 2 ** (32 - outer.prefix)) === Math.floor(outer.network / 2 ** (32 - outer.prefix));

  /**
   * Peers whose ipBlocks admit exactly `block` minus `hole`: split at random (never stopping above
   * the minimum prefix /16, so no piece is reported by its own width rule), pieces holding the
   * hole either split further or carry it as except. `choices` drives every random decision.
   */
  function repartition(block: Block, hole: Block | undefined, choices: () => number, out: V1NetworkPolicyPeer[]): void {
    const mapped = choices() < 0.2;
    if (hole !== undefined && inside(block, hole)) return; // entirely removed
    const holeInside = hole !== undefined && inside(hole, block) && hole.prefix > block.prefix;
    const canStop = block.prefix >= 16;
    if (canStop && (block.prefix >= 24 || choices() < 0.5)) {
      if (!holeInside) out.push(cidrPeer(text(block, mapped)));
      else out.push(cidrPeer(text(block, mapped), [text(hole, false)]));
      return;
    }
    const half = 2 ** (32 - block.prefix - 1);
    repartition({ network: block.network, prefix: block.prefix + 1 }, hole, choices, out);
    repartition({ network: block.network + half, prefix: block.prefix + 1 }, hole, choices, out);
  }

  /** Ports [first, last] as random ranges of at most 100 ports and single ports. */
  function repartitionPorts(first: number, last: number, choices: () => number): V1NetworkPolicyPort[] {
    const out: V1NetworkPolicyPort[] = [];
    let next = first;
    while (next <= last) {
      const width = Math.min(last - next + 1, 1 + Math.floor(choices() * 100));
      const protocol = choices() < 0.5 ? {} : { protocol: 'TCP' };
      out.push(width === 1 ? { ...protocol, port: next } : { ...protocol, port: next, endPort: next + width - 1 });
      next += width;
    }
    return out;
  }

  /** Deals peers and ports onto `ruleCount` egress rules at random; every rule gets at least one of each. */
  function spread(peers: V1NetworkPolicyPeer[], ports: V1NetworkPolicyPort[], ruleCount: number, choices: () => number): V1NetworkPolicyEgressRule[] {
    const rules: { to: V1NetworkPolicyPeer[]; ports: V1NetworkPolicyPort[] }[] = Array.from({ length: ruleCount }, () => ({ to: [], ports: [] }));
    for (const peer of peers) rules[Math.floor(choices() * ruleCount)]!.to.push(peer);
    for (const port of ports) rules[Math.floor(choices() * ruleCount)]!.ports.push(port);
    for (const rule of rules) {
      if (rule.to.length === 0) rule.to.push(API_PODS);
      if (rule.ports.length === 0) rule.ports.push(ports[0]!);
    }
    return rules;
  }

  const randomSource = fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }));
  const chooser = (stream: Iterable<number>) => {
    const it = stream[Symbol.iterator]();
    return () => it.next().value as number;
  };
  const holeIn = (block: Block, extra: number, offset: number): Block => {
    const prefix = Math.min(32, block.prefix + extra);
    const slots = 2 ** (prefix - block.prefix);
    return { network: block.network + (offset % slots) * 2 ** (32 - prefix), prefix };
  };
  /** 10.0.0.0/8-sized and smaller blocks away from 169.254.0.0/16, so ipblock-forbidden stays out of it. */
  const blockOf = (prefix: number, index: number): Block => {
    const size = 2 ** (32 - prefix);
    const network = (index * size) % 2 ** 31; // below 128.0.0.0, never 169.254
    return { network, prefix };
  };

  const UNCAPPED = config({ limits: { maxPolicyElements: 1_000_000 } });

  it('a policy denied for opening more than one /16 or more than 100 ports stays denied, by the totals rules', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 9, max: 15 }),
        fc.nat(),
        fc.option(fc.tuple(fc.integer({ min: 2, max: 20 }), fc.nat()), { nil: undefined }),
        fc.integer({ min: 101, max: 3000 }),
        fc.integer({ min: 1, max: 60000 }),
        fc.integer({ min: 1, max: 5 }),
        randomSource,
        (prefix, index, holeSpec, portCount, firstPort, ruleCount, stream) => {
          const choices = chooser(stream);
          const block = blockOf(prefix, index);
          // A hole of at most a quarter keeps more than 3/4 of a /15 or wider: still more than one /16.
          const hole = holeSpec === undefined ? undefined : holeIn(block, holeSpec[0], holeSpec[1]);
          const peers: V1NetworkPolicyPeer[] = [];
          repartition(block, hole, choices, peers);
          const last = Math.min(65535, firstPort + portCount - 1);
          const first = last - portCount + 1 < 1 ? 1 : last - portCount + 1;
          const rules = spread(peers, repartitionPorts(first, last, choices), ruleCount, choices);
          // Pieces can number thousands: lift the element cap so the totals rules, not policy-too-large, judge them.
          const evaluation = evaluate(egressPolicy(rules), { config: UNCAPPED });
          assert.equal(evaluation.allowed, false);
          const found = ids(evaluation.findings);
          assert.ok(found.includes('ipblock-total-too-wide'), `addresses: ${found.join(', ')}`);
          assert.ok(found.includes('ports-total-too-wide'), `ports: ${found.join(', ')}`);
          assert.deepEqual(found.filter((id) => id !== 'ipblock-total-too-wide' && id !== 'ports-total-too-wide'), []);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a narrow policy (at most one /16, at most 100 ports) stays allowed however it is written', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 28 }),
        fc.nat(),
        fc.option(fc.tuple(fc.integer({ min: 1, max: 8 }), fc.nat()), { nil: undefined }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 65435 }),
        fc.integer({ min: 1, max: 5 }),
        randomSource,
        (prefix, index, holeSpec, portCount, firstPort, ruleCount, stream) => {
          const choices = chooser(stream);
          const block = blockOf(prefix, index);
          const hole = holeSpec === undefined ? undefined : holeIn(block, holeSpec[0], holeSpec[1]);
          const peers: V1NetworkPolicyPeer[] = [];
          repartition(block, hole, choices, peers);
          if (peers.length === 0) peers.push(API_PODS);
          const rules = spread(peers, repartitionPorts(firstPort, firstPort + portCount - 1, choices), ruleCount, choices);
          const evaluation = evaluate(egressPolicy(rules));
          assert.deepEqual(ids(evaluation.findings), []);
          assert.equal(evaluation.allowed, true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
