// The reference for photoseek's face engine: face-api 1.7.15 under node on TensorFlow.js's pure-JavaScript cpu
// backend. The weights are read from the manifests here (tf.io.decodeWeights, then each net's loadFromWeightMap),
// and the pixels from the binary PPM files `photoseek faces --save-input DIR` wrote, so that both see the same
// input. Prints one JSON line per image in the shape of `photoseek faces`, plus the aligned rectangle each
// descriptor was computed from. DETECTOR=tiny uses the Tiny Face Detector (input 416, score above 0.5) in place of
// the SSD MobileNet v1 (score above 0.5, at most 100 faces).
//
//   npm install && [DETECTOR=tiny] node reference.cjs MODEL_DIR IMAGE.ppm... > refs.jsonl
'use strict';
const fs = require('fs');
const path = require('path');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const { tf } = faceapi;

function loadNet(net, dir, name) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, `${name}-weights_manifest.json`), 'utf8'));
  const map = {};
  for (const group of manifest) {
    const buffers = group.paths.map((p) => fs.readFileSync(path.join(dir, p)));
    const all = Buffer.concat(buffers);
    const ab = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
    Object.assign(map, tf.io.decodeWeights(ab, group.weights));
  }
  net.loadFromWeightMap(map);
}

function readPPM(file) {
  const b = fs.readFileSync(file);
  // P6 <ws> width <ws> height <ws> 255 <one ws> then RGB bytes (no comments: photoseek writes none)
  const head = b.subarray(0, 64).toString('latin1');
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(head);
  if (!m) throw new Error(`${file}: not a binary PPM`);
  const w = +m[1], h = +m[2];
  const px = b.subarray(m[0].length, m[0].length + w * h * 3);
  if (px.length !== w * h * 3) throw new Error(`${file}: truncated`);
  return tf.tensor3d(Int32Array.from(px), [h, w, 3], 'int32');
}

async function main() {
  const [dir, ...files] = process.argv.slice(2);
  const backend = process.env.TFJS_BACKEND || 'cpu';
  if (backend === 'wasm') faceapi.tf.setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  await tf.setBackend(backend);
  await tf.ready();
  const tiny = process.env.DETECTOR === 'tiny';
  if (tiny) loadNet(faceapi.nets.tinyFaceDetector, dir, 'tiny_face_detector_model');
  else loadNet(faceapi.nets.ssdMobilenetv1, dir, 'ssd_mobilenetv1_model');
  loadNet(faceapi.nets.faceLandmark68Net, dir, 'face_landmark_68_model');
  loadNet(faceapi.nets.faceRecognitionNet, dir, 'face_recognition_model');
  const opts = tiny
    ? new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 })
    : new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 100 });
  for (const file of files) {
    const t = readPPM(file);
    const res = await faceapi.detectAllFaces(t, opts).withFaceLandmarks().withFaceDescriptors();
    const faces = res.map((r) => {
      const b = r.detection.box;
      const a = r.landmarks.align(null, { useDlibAlignment: true });
      return {
        box: [b.x, b.y, b.width, b.height],
        score: r.detection.score,
        landmarks: r.landmarks.positions.map((p) => [p.x, p.y]),
        descriptor: Array.from(r.descriptor),
        aligned: [a.x, a.y, a.width, a.height],
      };
    });
    process.stdout.write(`${JSON.stringify({ input: path.basename(file), width: t.shape[1], height: t.shape[0], faces })}\n`);
    t.dispose();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
