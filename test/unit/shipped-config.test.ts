import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';

const SHIPPED_PLANS = [
  'technicophone_centrex',
  'technicophone_trunk_sip',
  'technicophone_vga',
  'technicophone_mobile',
  'witech_illimite',
  'progetcom_full_illimite',
  'orange_wte',
];

describe('shipped configuration', () => {
  const config = loadConfig('config');

  it('has one plan per offer of the seeds', () => {
    expect([...config.plans.keys()].sort()).toEqual([...SHIPPED_PLANS].sort());
  });

  it('cites the contract for every threshold', () => {
    for (const plan of config.plans.values()) {
      expect(plan.inclusion_provenance.lines, plan.id).toMatch(/\d/);
      for (const rule of plan.fair_use) {
        expect(rule.provenance.seed, `${plan.id} ${rule.metric}`).toMatch(/^00\d_[0-9a-f]+\.txt$/);
        expect(rule.provenance.quote, `${plan.id} ${rule.metric}`).toBeTruthy();
      }
      if (plan.bundle.mode === 'pooled') expect(plan.bundle.provenance.lines).toMatch(/\d/);
    }
  });

  it('labels every tariff as example prices', () => {
    for (const tariff of config.tariffs.values()) expect(tariff.exampleOnly, tariff.id).toBe(true);
  });

  it('gives every subscriber a known plan', () => {
    expect(config.directory.all.length).toBeGreaterThan(10);
    for (const s of config.directory.all) expect(config.plans.has(s.planId), s.account).toBe(true);
  });
});
