// The model zoo beyond the CIFAR ResNets: parameter counts against the published figures
// (torchvision's model docs for ResNet-18/34 with the ImageNet stem; closed-form counts for the
// CIFAR-stem, pre-activation and wide variants), PyTorch state-dict names, output shapes on each
// data set's geometry, state-dict round trips and leak-free training steps.
import { describe, it, beforeAll, expect } from 'vitest';
import { Generator, memory, models, nn, noGrad, randn, tidy, type Tensor } from '../../index.js';
import { testBackends, useBackend } from '../harness.js';

// Independent counts from the architecture: a conv k×k in→out without bias has k²·in·out weights;
// a BN has 2·C parameters; a linear in→out has in·out + out.
const conv = (k: number, i: number, o: number) => k * k * i * o;
const bn = (c: number) => 2 * c;
function basicResNetCount(blocks: number[], stemK: number, classes: number, w = 64): number {
  let n = conv(stemK, 3, w) + bn(w);
  let inP = w;
  blocks.forEach((b, s) => {
    const p = w << s;
    for (let i = 0; i < b; i++) {
      n += conv(3, inP, p) + bn(p) + conv(3, p, p) + bn(p);
      if (inP !== p) n += conv(1, inP, p) + bn(p);
      inP = p;
    }
  });
  return n + 8 * w * classes + classes;
}

for (const backend of testBackends()) {
  describe(`model zoo on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('ResNet-18/34 (ImageNet stem, 1000 classes) have torchvision\'s published parameter counts', () => {
      // torchvision docs: resnet18 11,689,512 and resnet34 21,797,672 parameters.
      const r18 = models.resnet18({ generator: new Generator(1) });
      expect(r18.numParameters()).toBe(11_689_512);
      expect(basicResNetCount([2, 2, 2, 2], 7, 1000)).toBe(11_689_512); // the formula agrees
      const sd = Object.keys(r18.stateDict());
      // torchvision's state_dict has 122 keys, 20 of them num_batches_tracked (not kept here).
      expect(sd.length).toBe(102);
      expect(sd.slice(0, 5)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var']);
      for (const k of ['layer1.0.conv1.weight', 'layer1.1.bn2.running_var', 'layer2.0.downsample.0.weight', 'layer2.0.downsample.1.running_mean', 'layer4.1.conv2.weight']) {
        expect(sd, k).toContain(k);
      }
      expect(sd.slice(-2)).toEqual(['fc.weight', 'fc.bias']);
      expect(r18.stateDict()['layer2.0.downsample.0.weight'].shape).toEqual([128, 64, 1, 1]);
      expect(r18.stateDict()['conv1.weight'].shape).toEqual([64, 3, 7, 7]);
      r18.dispose();
      const r34 = models.resnet34({ generator: new Generator(1) });
      expect(r34.numParameters()).toBe(21_797_672);
      r34.dispose();
    });

    it('CIFAR-stem ResNet-18, PreAct-ResNet-18 and WRN-28-10 have their closed-form counts', () => {
      const r18c = models.createModel('resnet18', { numClasses: 10, inChannels: 3, imageSize: 32, generator: new Generator(1) });
      expect(r18c.numParameters()).toBe(basicResNetCount([2, 2, 2, 2], 3, 10)); // 11,173,962 (kuangliu's figure)
      expect(r18c.numParameters()).toBe(11_173_962);
      r18c.dispose();

      const pre = models.createModel('preact-resnet18', { numClasses: 10, inChannels: 3, imageSize: 32, generator: new Generator(1) });
      // Pre-activation: no stem BN, no BN on projections (conv only), plus the final BN of 512.
      let expected = conv(3, 3, 64);
      let inP = 64;
      for (const p of [64, 128, 256, 512]) for (let i = 0; i < 2; i++) {
        expected += bn(inP) + conv(3, inP, p) + bn(p) + conv(3, p, p) + (inP !== p ? conv(1, inP, p) : 0);
        inP = p;
      }
      expected += bn(512) + 512 * 10 + 10;
      expect(pre.numParameters()).toBe(expected);
      const names = Object.keys(pre.stateDict());
      expect(names).toContain('layer2.0.downsample.0.weight');
      expect(names).not.toContain('layer2.0.downsample.1.weight');
      expect(names.slice(-6)).toEqual(['bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'fc.weight', 'fc.bias']);
      pre.dispose();

      const wrn = models.createModel('wrn-28-10', { numClasses: 10, inChannels: 3, imageSize: 32, generator: new Generator(1) });
      // Zagoruyko & Komodakis report 36.5 M for WRN-28-10; the exact count of this layout is 36,479,194.
      let w = conv(3, 3, 16);
      let inC = 16;
      for (const c of [160, 320, 640]) for (let i = 0; i < 4; i++) {
        w += bn(inC) + conv(3, inC, c) + bn(c) + conv(3, c, c) + (inC !== c ? conv(1, inC, c) : 0);
        inC = c;
      }
      w += bn(640) + 640 * 10 + 10;
      expect(w).toBe(36_479_194);
      expect(wrn.numParameters()).toBe(w);
      const wn = Object.keys(wrn.stateDict());
      for (const k of ['conv1.weight', 'block1.layer.0.bn1.running_mean', 'block1.layer.0.convShortcut.weight', 'block3.layer.3.conv2.weight', 'bn1.running_var', 'fc.bias']) {
        expect(wn, k).toContain(k);
      }
      expect(wn).not.toContain('block1.layer.1.convShortcut.weight');
      wrn.dispose();
    });

    it('rejects bad names and geometry with a message naming the model', () => {
      const o = { numClasses: 10, inChannels: 3, imageSize: 32 };
      expect(() => models.createModel('resnet19', o)).toThrow(/unknown model 'resnet19'.*resnet20/);
      expect(() => models.createModel('wrn-27-10', o)).toThrow(/6n \+ 4.*27/);
      expect(() => models.createModel('wrn-16-2', { ...o, width: 8 })).toThrow(/width does not apply/);
    });

    it('each model maps its data set\'s images to logits and trains a step without leaking', async () => {
      const cases: [string, number, number, number, number?][] = [
        // name, channels, size, classes, width (small so the test is quick)
        ['resnet20', 1, 28, 10, 4],
        ['resnet18', 3, 32, 10, 4],
        ['resnet18', 3, 64, 200, 4], // Tiny ImageNet geometry: ImageNet stem
        ['resnet34', 3, 32, 100, 2],
        ['preact-resnet18', 3, 32, 10, 4],
        ['wrn-10-1', 3, 32, 10],
      ];
      for (const [name, c, s, k, width] of cases) {
        const m = models.createModel(name, { numClasses: k, inChannels: c, imageSize: s, width, generator: new Generator(3) });
        const x = randn([2, c, s, s], { generator: new Generator(4) });
        const before = memory();
        const loss = tidy(() => {
          const y = m.forward(x);
          expect(y.shape, name).toEqual([2, k]);
          return nn.functional.crossEntropy(y, [1, k - 1]);
        });
        loss.backward();
        expect(Number.isFinite(await loss.item()), name).toBe(true);
        loss.dispose();
        for (const [pn, p] of m.namedParameters()) expect(p.grad, `${name} ${pn} gets a gradient`).not.toBeNull();
        m.zeroGrad();
        expect(memory().liveTensors, name).toBe(before.liveTensors);
        expect(memory().liveBytes, name).toBe(before.liveBytes);
        x.dispose();
        m.dispose();
      }
    });

    it('stateDict → loadStateDict reproduces a model exactly (weights and running statistics)', async () => {
      for (const name of ['resnet20', 'resnet18', 'preact-resnet18', 'wrn-10-2']) {
        const o = { numClasses: 10, inChannels: 3, imageSize: 16, width: name === 'wrn-10-2' ? undefined : 4 };
        const a = models.createModel(name, { ...o, generator: new Generator(5) });
        const b = models.createModel(name, { ...o, generator: new Generator(6) });
        const x = randn([3, 3, 16, 16], { generator: new Generator(7) });
        // One training-mode forward moves a's running statistics away from their initial values.
        tidy(() => { noGrad(() => a.forward(x)); });
        const host: Record<string, Float32Array> = {};
        for (const [k, t] of Object.entries(a.stateDict())) host[k] = await t.toArray();
        b.loadStateDict(host);
        for (const [k, t] of Object.entries(b.stateDict())) expect([...(await t.toArray())], `${name} ${k}`).toEqual([...host[k]]);
        a.eval();
        b.eval();
        const [ya, yb] = await Promise.all(noGrad(() => [a.forward(x), b.forward(x)]).map(async (t: Tensor) => { const v = await t.toArray(); t.dispose(); return v; }));
        expect([...yb], name).toEqual([...ya]);
        // A tensor state dict works as well, and a wrong shape names the key.
        b.loadStateDict(a.stateDict());
        const bad = { ...host, 'conv1.weight': new Float32Array(3) };
        expect(() => b.loadStateDict(bad)).toThrow(/'conv1.weight' has 3 values/);
        const { ['fc.bias' in host ? 'fc.bias' : 'linear.bias']: _drop, ...missing } = host;
        expect(() => b.loadStateDict(missing)).toThrow(/missing keys: (fc|linear)\.bias/);
        x.dispose();
        a.dispose();
        b.dispose();
      }
    });
  });
}
