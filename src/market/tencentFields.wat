;; Fields 2..48 of one Tencent record in one pass: the hot loop of tencentParse.ts, in
;; WebAssembly. Assembled by `npm run wasm` into tencentFieldsWasm.ts; tencentFields.ts says why
;; and holds the contract. A test assembles this file again and compares the bytes.
;;
;; Memory (offsets in bytes):
;;   0     vals    f64[49]  field k's number, when the field table makes it one
;;   400   starts  i32[49]  field k's first byte (body offset), for ranges and slow fields
;;   600   ends    i32[49]  one past field k's last byte
;;   800   slow    u8[49]   1 = field k is a number this pass did not read (JS reads it)
;;   900   table   i8[49]   how to read each field at 2 decimals; 960 the same at 3
;;   1024  the body; positions passed in and stored are offsets into it
;;   1024 + 16 MiB  RecordMemo's record copies, in fixed slots (tencentFields.ts allocates them)
;;
;; Table entries: -2 skip, -1 keep the range only, else (decimals | 8 for an integer | 16 to
;; keep the range too). A number is read here only when it is a plain unsigned decimal of at
;; most 15 digits (so every step is exact in i64 and in the double the JS reader would use),
;; with no nonzero digit past its decimals; anything else is marked slow, with its range, for
;; scan.ts's readers. The digit loops need no bound: the byte at `end` is the record's closing
;; '"', which is not a digit.
(module
  (memory (export "memory") 1)
  ;; i: first byte of field 2; end: the record's closing quote; tab: 900 or 960.
  ;; Returns -1 when the record ends before field 48, else (i << 1) | anySlow, where i is the end
  ;; of field 48.
  (func (export "fields") (param $i i32) (param $end i32) (param $tab i32) (result i32)
    (local $k i32) (local $from i32) (local $how i32) (local $dec i32) (local $n i64)
    (local $nd i32) (local $frac i32) (local $c i32) (local $plain i32) (local $slow i32)
    (local.set $k (i32.const 2))
    (block $done
      (loop $field
        (local.set $from (local.get $i))
        (local.set $how (i32.load8_s (i32.add (local.get $tab) (local.get $k))))
        (if (i32.lt_s (local.get $how) (i32.const 0))
          (then
            ;; skip to the next '~'
            (block $b
              (loop $l
                (br_if $b (i32.ge_s (local.get $i) (local.get $end)))
                (br_if $b (i32.eq (i32.load8_u offset=1024 (local.get $i)) (i32.const 126)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $l)))
            (if (i32.eq (local.get $how) (i32.const -1))
              (then
                (i32.store offset=400 (i32.shl (local.get $k) (i32.const 2)) (local.get $from))
                (i32.store offset=600 (i32.shl (local.get $k) (i32.const 2)) (local.get $i)))))
          (else
            (local.set $dec (i32.and (local.get $how) (i32.const 7)))
            (local.set $n (i64.const 0))
            (local.set $nd (i32.const 0))
            (local.set $frac (i32.const 0))
            ;; the integer digits
            (block $b
              (loop $l
                (local.set $c (i32.load8_u offset=1024 (local.get $i)))
                (br_if $b (i32.gt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9)))
                (local.set $n
                  (i64.add (i64.mul (local.get $n) (i64.const 10))
                           (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
                (local.set $nd (i32.add (local.get $nd) (i32.const 1)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $l)))
            (local.set $plain (i32.gt_s (local.get $i) (local.get $from)))
            (if (i32.and (local.get $plain) (i32.eq (local.get $c) (i32.const 46)))
              (then
                (if (i32.and (local.get $how) (i32.const 8))
                  (then (local.set $plain (i32.const 0)))
                  (else
                    ;; the fraction: up to `dec` digits kept, zeros only after them
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (block $b
                      (loop $l
                        (local.set $c (i32.load8_u offset=1024 (local.get $i)))
                        (br_if $b (i32.gt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9)))
                        (if (i32.lt_s (local.get $frac) (local.get $dec))
                          (then
                            (local.set $n
                              (i64.add (i64.mul (local.get $n) (i64.const 10))
                                       (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
                            (local.set $nd (i32.add (local.get $nd) (i32.const 1)))
                            (local.set $frac (i32.add (local.get $frac) (i32.const 1))))
                          (else
                            (if (i32.ne (local.get $c) (i32.const 48))
                              (then
                                (local.set $plain (i32.const 0))
                                (br $b)))))
                        (local.set $i (i32.add (local.get $i) (i32.const 1)))
                        (br $l)))))))
            (if (i32.gt_u (local.get $nd) (i32.const 15))
              (then (local.set $plain (i32.const 0))))
            (if (i32.and (local.get $plain)
                         (i32.or (i32.eq (local.get $c) (i32.const 126))
                                 (i32.eq (local.get $i) (local.get $end))))
              (then
                (block $b
                  (loop $l
                    (br_if $b (i32.ge_s (local.get $frac) (local.get $dec)))
                    (local.set $n (i64.mul (local.get $n) (i64.const 10)))
                    (local.set $frac (i32.add (local.get $frac) (i32.const 1)))
                    (br $l)))
                (f64.store (i32.shl (local.get $k) (i32.const 3))
                  (select (f64.const nan)
                          (f64.convert_i64_u (local.get $n))
                          (i64.gt_u (local.get $n) (i64.const 9007199254740991)))))
              (else
                ;; not plain: find the field's end and leave the number to scan.ts
                (block $b
                  (loop $l
                    (br_if $b (i32.ge_s (local.get $i) (local.get $end)))
                    (br_if $b (i32.eq (i32.load8_u offset=1024 (local.get $i)) (i32.const 126)))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br $l)))
                (i32.store8 offset=800 (local.get $k) (i32.const 1))
                (local.set $slow (i32.const 1))
                (i32.store offset=400 (i32.shl (local.get $k) (i32.const 2)) (local.get $from))
                (i32.store offset=600 (i32.shl (local.get $k) (i32.const 2)) (local.get $i))))
            (if (i32.and (local.get $how) (i32.const 16))
              (then
                (i32.store offset=400 (i32.shl (local.get $k) (i32.const 2)) (local.get $from))
                (i32.store offset=600 (i32.shl (local.get $k) (i32.const 2)) (local.get $i))))))
        (br_if $done (i32.eq (local.get $k) (i32.const 48)))
        (if (i32.eq (local.get $i) (local.get $end))
          (then (return (i32.const -1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $field)))
    (i32.or (i32.shl (local.get $i) (i32.const 1)) (local.get $slow)))

  ;; 1 when the $len bytes at address $a equal those at $b, else 0 (addresses, not body
  ;; offsets): RecordMemo's "same bytes as last time", eight bytes a step.
  (func (export "same") (param $a i32) (param $b i32) (param $len i32) (result i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $a) (i32.and (local.get $len) (i32.const -8))))
    (block $words
      (loop $w
        (br_if $words (i32.ge_u (local.get $a) (local.get $end)))
        (if (i64.ne (i64.load (local.get $a)) (i64.load (local.get $b)))
          (then (return (i32.const 0))))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $b (i32.add (local.get $b) (i32.const 8)))
        (br $w)))
    (local.set $end (i32.add (local.get $end) (i32.and (local.get $len) (i32.const 7))))
    (block $bytes
      (loop $c
        (br_if $bytes (i32.ge_u (local.get $a) (local.get $end)))
        (if (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b)))
          (then (return (i32.const 0))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $c)))
    (i32.const 1))
)
