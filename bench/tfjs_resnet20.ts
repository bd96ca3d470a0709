// ResNet-20 (CIFAR, option-A shortcuts) in TensorFlow.js, for the side-by-side training-step bench:
// the same layers as models/resnet_cifar.ts (3×3 convs with padding 1 and no bias, batch norm in
// training mode with batch statistics, ReLU, identity shortcuts with a stride-2 subsample and zero
// channels when the shape changes, global average pooling, linear), in NHWC as tfjs wants it.
// Weights come from a pugd model (OIHW → HWIO), so both start from the same parameters.
import type * as TF from '@tensorflow/tfjs-core';

export interface TfResNet {
  /** Mean softmax cross-entropy of the batch; x NHWC, oneHot [N,10]. */
  loss(x: TF.Tensor4D, oneHot: TF.Tensor2D): TF.Scalar;
  vars: Map<string, TF.Variable>;
}

/** `state`: pugd parameter name → values in pugd's layout (conv OIHW, linear [out,in]). */
export function tfResNet20(tf: typeof TF, state: Map<string, { shape: readonly number[]; data: Float32Array }>): TfResNet {
  const vars = new Map<string, TF.Variable>();
  for (const [name, { shape, data }] of state) {
    if (!name.endsWith('weight') && !name.endsWith('bias')) continue;
    let t: TF.Tensor = tf.tensor(data, [...shape]);
    if (shape.length === 4) t = tf.transpose(t, [2, 3, 1, 0]); // OIHW → HWIO
    vars.set(name, tf.variable(t, true, name.replace(/\./g, '/')));
  }
  const v = (n: string) => {
    const t = vars.get(n);
    if (!t) throw new Error(`tfjs ResNet-20: no weight '${n}'`);
    return t;
  };
  const pad1: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
  const conv = (x: TF.Tensor4D, name: string, stride: number) => tf.conv2d(x, v(name) as TF.Tensor4D, stride, pad1);
  const bn = (x: TF.Tensor4D, name: string): TF.Tensor4D => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.batchNorm4d(x, mean as TF.Tensor1D, variance as TF.Tensor1D, v(`${name}.bias`) as TF.Tensor1D, v(`${name}.weight`) as TF.Tensor1D, 1e-5);
  };
  const block = (x: TF.Tensor4D, p: string, inC: number, outC: number, stride: number) => {
    let h: TF.Tensor4D = tf.relu(bn(conv(x, `${p}.conv1.weight`, stride), `${p}.bn1`));
    h = bn(conv(h, `${p}.conv2.weight`, 1), `${p}.bn2`);
    let sc = x;
    if (stride !== 1 || inC !== outC) {
      // x[:, ::2, ::2, :] as pugd does it (a 1×1 average pool with stride 2; tfjs has no gradient
      // for stridedSlice).
      sc = tf.avgPool(x, 1, stride, 'valid');
      const extra = outC - inC;
      sc = tf.pad(sc, [[0, 0], [0, 0], [0, 0], [Math.floor(extra / 2), extra - Math.floor(extra / 2)]]) as TF.Tensor4D;
    }
    return tf.relu(tf.add(h, sc)) as TF.Tensor4D;
  };
  return {
    vars,
    loss(x, oneHot) {
      let h = tf.relu(bn(conv(x, 'conv1.weight', 1), 'bn1')) as TF.Tensor4D;
      const widths = [16, 32, 64];
      let inC = 16;
      widths.forEach((w, s) => {
        for (let i = 0; i < 3; i++) {
          h = block(h, `layer${s + 1}.${i}`, i === 0 ? inC : w, w, i === 0 && s > 0 ? 2 : 1);
        }
        inC = w;
      });
      const feat = tf.mean(h, [1, 2]) as TF.Tensor2D;
      const logits = tf.add(tf.matMul(feat, v('linear.weight') as TF.Tensor2D, false, true), v('linear.bias'));
      return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as TF.Scalar;
    },
  };
}
