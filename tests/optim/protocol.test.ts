// The optimizer protocol: errors that name the thing and the reason, the closure contract, memory that
// stays flat with no help from the caller, no readback and a fixed number of kernel dispatches per
// step, non-finite losses that never reach the weights, and BatchNorm statistics during the
// perturbed pass.
import { describe, it, beforeAll, expect } from 'vitest';
import { memory, nn, optim, tensor, tidy, type Tensor } from '../../engine/index.js';
import { testBackends, useBackend } from '../harness.js';
import { fixedBatch, tinyResBlock } from '../tiny_resblock.js';

const quad = (w: Tensor) => w.square().sum().mul(0.5);

function closureFor(opt: { zeroGrad(): void }, loss: () => Tensor) {
  return () => {
    opt.zeroGrad();
    const l = loss();
    l.backward();
    return l;
  };
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  let msg = '(resolved)';
  try {
    await p;
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg).toMatch(re);
}

function throws(fn: () => unknown, re: RegExp): void {
  let msg = '(no error)';
  try {
    fn();
  } catch (e) {
    msg = (e as Error).message;
  }
  expect(msg).toMatch(re);
}

for (const backend of testBackends()) {
  describe(`optimizer protocol on ${backend}`, () => {
    beforeAll(() => useBackend(backend));

    it('bad hyper-parameters and parameters are refused with the name and the reason', () => {
      const w = tensor([1, 2], [2], { requiresGrad: true });
      const v = tensor([1, 2], [2], { requiresGrad: true });
      const plain = tensor([1, 2], [2]);
      throws(() => new optim.PUGD([w], { lr: -1 }), /PUGD param group 0: lr must be in \[0, ∞\), got -1/);
      throws(() => new optim.PUGD([w], { momentum: 1.2 }), /momentum must be in \[0, 1\), got 1.2/);
      throws(() => new optim.PUGD([w], { weightDecay: NaN }), /weightDecay must be a finite number, got NaN/);
      throws(() => new optim.PUGD([w], { radius: 0 }), /PUGD: radius must be in \(0, ∞\), got 0/);
      throws(() => new optim.PUGD([w], { momentum: 0, nesterov: true }), /nesterov requires momentum > 0 and dampening 0/);
      throws(() => new optim.PUGD([w], { learningRate: 0.1 } as never), /PUGD: unknown option 'learningRate'/);
      throws(() => new optim.PUGD([w], { gradient: 'g2' as never }), /gradient must be 'sum' or 'perturbed'/);
      throws(() => new optim.PUGD([{ params: [w] }, { params: [v, w] }]), /appears twice \(in param group 0 and 1\)/);
      throws(() => new optim.PUGD([{ params: [w], rho: 1 } as never]), /PUGD param group 0: unknown option 'rho'/);
      throws(() => new optim.PUGD([plain]), /does not require grad/);
      throws(() => new optim.PUGD([]), /params must be a non-empty array/);
      const derived = w.mul(2);
      throws(() => new optim.SGD([derived]), /is not a leaf \(it was produced by mul\)/);
      derived.dispose();
      throws(() => new optim.Adam([w], { betas: [0.9, 1] }), /betas\[1\] must be in \[0, 1\), got 1/);
      throws(() => new optim.SAM([w], { eta: 0.1 }), /eta applies only with adaptive: true/);
      throws(() => new optim.SAM([w], { base: 'rmsprop' as never }), /base must be 'sgd', 'adam', 'adamw'/);
      throws(() => new optim.SAM([w], { betas: [0.9, 0.99] }), /SAM\(SGD\): unknown option 'betas'/);
      throws(() => new optim.lr_scheduler.CosineAnnealingLR(new optim.SGD([w]), { TMax: 0 }), /TMax must be an integer > 0, got 0/);
      for (const t of [w, v, plain]) t.dispose();
    });

    it('hyper-parameters changed between steps are checked at the next step', async () => {
      const w = tensor([1, 2], [2], { requiresGrad: true });
      const opt = new optim.PUGD([w]);
      opt.paramGroups[0].lr = -0.5;
      await rejects(opt.step(closureFor(opt, () => quad(w))), /PUGD param group 0: lr must be in \[0, ∞\), got -0.5/);
      opt.dispose();
      w.dispose();
    });

    it('closure errors: no closure, no tensor, backward forgotten, no gradient', async () => {
      const w = tensor([1, 2], [2], { requiresGrad: true });
      const opt = new optim.PUGD([w]);
      await rejects(opt.step(undefined as never), /PUGD.step: a closure is required/);
      await rejects(opt.step((() => undefined) as never), /closure \(pass 1, at w\) returned undefined; it must return the loss tensor/);
      await rejects(opt.step(() => quad(w)), /closure \(pass 1, at w\) did not call backward\(\) on the loss/);
      await rejects(
        opt.step(() => {
          opt.zeroGrad();
          quad(w).backward();
          return w.mul(2);
        }),
        /closure \(pass 1, at w\) returned f32 \[2\]; the loss must have one element/,
      );
      const other = tensor([3], [1], { requiresGrad: true });
      await rejects(opt.step(closureFor(opt, () => quad(other))), /no parameter has a gradient after the closure \(pass 1, at w\)/);
      const sgd = new optim.SGD([w]);
      await rejects(sgd.step((() => 3) as never), /SGD.step: the closure \(at w\) returned 3/);
      expect(await w.toArray()).toEqual(Float32Array.of(1, 2));
      for (const o of [opt, sgd]) o.dispose();
      w.dispose();
      other.dispose();
    });

    it('a step started before the previous one finished is refused', async () => {
      const w = tensor([1, 2], [2], { requiresGrad: true });
      const opt = new optim.PUGD([w]);
      const c = closureFor(opt, () => quad(w));
      const first = opt.step(c);
      await rejects(opt.step(c), /PUGD.step: called while the previous step is still running; await each step/);
      await first;
      await opt.step(c); // and the optimizer is usable afterwards
      opt.dispose();
      w.dispose();
    });

    it('a failing pass 2 leaves the weights exactly at w and releases the gradients', async () => {
      const w = tensor([0.3, -1.7, 2.2], [3], { requiresGrad: true });
      const opt = new optim.PUGD([w]);
      let calls = 0;
      await rejects(
        opt.step(() => {
          if (calls++ === 1) throw new Error('data loader failed');
          return closureFor(opt, () => quad(w))();
        }),
        /data loader failed/,
      );
      expect(await w.toArray()).toEqual(Float32Array.of(0.3, -1.7, 2.2));
      expect(w.grad).toBeNull();
      // A parameter reached only at w+ε is an error too, also with the weights restored.
      const x = tensor([0.5], [1], { requiresGrad: true });
      const opt2 = new optim.PUGD([w, x]);
      let n = 0;
      await rejects(opt2.step(closureFor(opt2, () => (n++ === 0 ? quad(w) : quad(w).add(quad(x))))), /received a gradient at w\+ε but none at w/);
      expect(await w.toArray()).toEqual(Float32Array.of(0.3, -1.7, 2.2));
      for (const t of [opt, opt2, w, x]) t.dispose();
    });

    it('a non-finite loss never reaches the weights, and the optimizer says which step and pass', async () => {
      // wasm reports from the step itself; a queued backend at the next status read: checkFinite()
      // forces one, so the same assertions hold on both.
      const bad = (o: { step(c: optim.Closure): Promise<unknown>; checkFinite(): Promise<void> }, c: optim.Closure) => o.step(c).then(() => o.checkFinite());
      const w = tensor([1, -2], [2], { requiresGrad: true });
      const opt = new optim.PUGD([w]);
      const good = closureFor(opt, () => quad(w));
      await opt.step(good);
      const after1 = await w.toArray();
      const buf1 = await (opt.stateDict().state['0'].momentumBuffer as Tensor).toArray();
      // NaN loss with finite gradients (reason: the loss), in pass 1.
      await rejects(bad(opt, closureFor(opt, () => quad(w).add(NaN))), /PUGD.step: at step 2 the loss returned by the closure in pass 1 \(at w\) is not finite.*update was skipped/);
      expect(await w.toArray()).toEqual(after1);
      expect(await (opt.stateDict().state['0'].momentumBuffer as Tensor).toArray()).toEqual(buf1);
      // Only the perturbed pass blows up: still skipped, and the weights are restored from the copy.
      let call = 0;
      await rejects(bad(opt, closureFor(opt, () => (call++ === 0 ? quad(w) : quad(w).mul(Infinity)))), /at step 3 .*pass 2 \(at w\+ε\)/);
      expect(await w.toArray()).toEqual(after1);
      // Training goes on afterwards.
      await opt.step(good);
      expect(await w.toArray()).not.toEqual(after1);
      // SGD and Adam guard their update the same way.
      for (const o of [new optim.SGD([w], { lr: 0.1, momentum: 0.9 }), new optim.Adam([w])]) {
        const before = await w.toArray();
        await rejects(bad(o, closureFor(o, () => quad(w).add(Infinity))), new RegExp(`${o.name}.step: at step 1 the loss returned by the closure is not finite`));
        expect(await w.toArray()).toEqual(before);
        o.dispose();
      }
      opt.dispose();
      w.dispose();
    });

    it('the returned loss is the optimizer\'s until the next step; a detach() survives it', async () => {
      const w = tensor([1, -2], [2], { requiresGrad: true });
      const opt = new optim.PUGD([w]);
      const c = closureFor(opt, () => quad(w));
      const l1 = await opt.step(c);
      const mine = l1.detach();
      expect(await l1.item()).toBeCloseTo(2.5, 6);
      await opt.step(c);
      expect(l1.disposed).toBe(true);
      expect(await mine.item()).toBeCloseTo(2.5, 6);
      mine.dispose();
      opt.dispose();
      w.dispose();
    });

    for (const [name, make] of [
      ['PUGD', (ps: Tensor[]) => new optim.PUGD(ps)],
      ['PUGD (BN stats frozen in pass 2)', (ps: Tensor[]) => new optim.PUGD(ps, { bnStatsOnPerturbedPass: false })],
      ['SAM', (ps: Tensor[]) => new optim.SAM(ps, { lr: 0.1, momentum: 0.9 })],
      ['SGD', (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 })],
      ['AdamW', (ps: Tensor[]) => new optim.AdamW(ps)],
      ['UGD', (ps: Tensor[]) => new optim.UGD(ps)],
    ] as const) {
      it(`${name}: 25 steps on a residual block lower the loss and keep memory flat with no help from the caller, no readback`, async () => {
        const base = memory();
        const net = tinyResBlock({ C: 8, classes: 4, seed: 5 });
        const b = fixedBatch(4, 3, 6, 6, 4);
        const x = tensor(b.x, b.shape);
        const y = tensor(b.labels, [b.labels.length], { dtype: 'i32' });
        const opt = make(net.params);
        const l0 = tidy(() => net.loss(x, y));
        const initial = await l0.item();
        l0.dispose();
        const r0 = memory().readbacks;
        // The closure creates tensors freely and disposes nothing; the step releases them.
        const closure = () => {
          opt.zeroGrad();
          const l = net.loss(x, y).mul(1).add(0);
          l.backward();
          return l;
        };
        const seen: { t: number; b: number; r: number }[] = [];
        for (let i = 0; i < 25; i++) {
          await opt.step(closure); // return value ignored on purpose
          const m = memory();
          seen.push({ t: m.liveTensors, b: m.liveBytes, r: m.readbacks });
        }
        for (let i = 2; i < seen.length; i++) {
          expect(seen[i].t, `live tensors after step ${i + 1}`).toBe(seen[1].t);
          expect(seen[i].b, `live bytes after step ${i + 1}`).toBe(seen[1].b);
        }
        // wasm: the status is host memory, never read back. Queued backends: one non-blocking status
        // read every QUEUED_CHECK_EVERY steps, never a wait.
        const allowed = backend === 'wasm' ? 0 : Math.floor(25 / optim.QUEUED_CHECK_EVERY);
        expect(seen[24].r - r0, 'readbacks during 25 steps').toBe(allowed);
        const loss = tidy(() => net.loss(x, y));
        const final = await loss.item();
        expect(final, `${name} lowers the loss on a fixed batch (from ${initial})`).toBeLessThan(initial * 0.9);
        loss.dispose();
        opt.dispose();
        net.dispose();
        x.dispose();
        y.dispose();
        const end = memory();
        expect(end.liveTensors).toBe(base.liveTensors);
        expect(end.liveBytes).toBe(base.liveBytes);
      });
    }

    it('kernel dispatches per PUGD step: 2 closures + 4K + 2 (one fused kernel per tensor per phase)', async () => {
      const net = tinyResBlock({ C: 4, classes: 3, seed: 6 });
      const b = fixedBatch(2, 3, 5, 5, 3);
      const x = tensor(b.x, b.shape);
      const y = tensor(b.labels, [b.labels.length], { dtype: 'i32' });
      const K = net.params.length;
      for (const [name, opt, perStep] of [
        ['PUGD', new optim.PUGD(net.params), (c: number) => 2 * c + 4 * K + 2],
        ['SGD', new optim.SGD(net.params, { lr: 0.01, momentum: 0.9 }), (c: number) => c + 2 * K + 1],
        ['UGD', new optim.UGD(net.params, { lr: 0.01 }), (c: number) => c + 2 * K + 1],
        ['SAM', new optim.SAM(net.params, { lr: 0.01 }), (c: number) => 2 * c + 3 * K + 2],
      ] as const) {
        const closure = () => {
          opt.zeroGrad();
          const l = net.loss(x, y);
          l.backward();
          return l;
        };
        await opt.step(closure); // first step allocates state
        const d0 = memory().dispatches;
        tidy(() => {
          closure();
        });
        net.params.forEach((p) => (p.grad = null));
        const c = memory().dispatches - d0;
        const d1 = memory().dispatches;
        await opt.step(closure);
        expect(memory().dispatches - d1, `${name} dispatches per step`).toBe(perStep(c));
        opt.dispose();
      }
      for (const t of [x, y]) t.dispose();
      net.dispose();
    });

    it('BatchNorm running stats: updated in both passes by default, only at w with bnStatsOnPerturbedPass: false', async () => {
      const b = fixedBatch(4, 3, 5, 5, 3);
      const runOnce = async (mode: 'single-forward' | 'default' | 'frozen') => {
        const net = tinyResBlock({ C: 4, classes: 3, seed: 9 });
        const x = tensor(b.x, b.shape);
        const y = tensor(b.labels, [b.labels.length], { dtype: 'i32' });
        if (mode === 'single-forward') {
          tidy(() => {
            net.loss(x, y);
          });
        } else {
          const opt = new optim.PUGD(net.params, { bnStatsOnPerturbedPass: mode === 'default' });
          await opt.step(() => {
            opt.zeroGrad();
            const l = net.loss(x, y);
            l.backward();
            return l;
          });
          opt.dispose();
        }
        const stats = await Promise.all(net.buffers.map((t) => t.toArray()));
        net.dispose();
        x.dispose();
        y.dispose();
        return stats;
      };
      const once = await runOnce('single-forward');
      const frozen = await runOnce('frozen');
      const both = await runOnce('default');
      expect(frozen, 'frozen pass 2: exactly the single update at w').toEqual(once);
      expect(both[0], 'default: the perturbed pass updates running_mean again').not.toEqual(once[0]);
      // And the switch is off again after the step.
      expect(nn.withFrozenRunningStats(() => 1)).toBe(1);
    });
  });
}
