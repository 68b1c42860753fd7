"""One round of the Saver benchmark (bench/dist/run.js) in Python: the same float32 variables as
bench/dist/node_saver.js, tf.compat.v1.train.Saver save x repeats then restore x repeats (one V2 shard)."""
import json
import os
import sys
import time

import tensorflow as tf

tf1 = tf.compat.v1
tf1.disable_eager_execution()


def main():
    spec = json.loads(sys.argv[1])
    shapes, repeats, out = spec['shapes'], spec['repeats'], spec['dir']
    vs = [tf1.get_variable('v%d' % i, shape, tf.float32, tf1.random_uniform_initializer(), use_resource=True) for i, shape in enumerate(shapes)]
    saver = tf1.train.Saver(vs, max_to_keep=1)
    mb = sum(4 * int(__import__('numpy').prod(s)) for s in shapes) / 1e6
    prefix = os.path.join(out, 'py.ckpt')
    with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        saver.save(sess, prefix)
        saver.restore(sess, prefix)
        save, restore = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            saver.save(sess, prefix)
            save.append(mb / (time.perf_counter() - t0))
        for _ in range(repeats):
            t0 = time.perf_counter()
            saver.restore(sess, prefix)
            restore.append(mb / (time.perf_counter() - t0))
    print(json.dumps({'mb': mb, 'save_mb_s': save, 'restore_mb_s': restore}))


if __name__ == '__main__':
    main()
