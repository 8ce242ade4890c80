/// Every field, bit for bit: the running sums are not recomputed on restore, because their
/// rounding history is part of the state an uninterrupted run would have. The window's sums
/// are written for the layout's sake (earlier builds kept them up to date); they are a
/// function of the ring, so a restore sums the ring again and ignores them.
extension PrequentialMetrics {
    /// Layout: window u64, count u64, four sums f64, ring (u64 count + f32 pairs), ring next u64,
    /// window sums 4 × f64.
    func archive(into sink: inout some ArchiveSink) throws {
        try sink.append(UInt64(window))
        try sink.append(UInt64(count))
        for sum in [sumSquared, sumAbsolute, baselineSumSquared, baselineSumAbsolute] { try sink.append(sum) }
        try sink.append(array: ring)
        try sink.append(UInt64(ringNext))
        let sums = windowSums
        for lane in 0..<4 { try sink.append(sums[lane]) }
    }

    /// Reads the metrics back; a different configured window restarts the sliding window.
    static func restore(window: Int, from reader: inout ArchiveReader) throws(ArchiveError) -> PrequentialMetrics {
        let storedWindow = try reader.readInt()
        var metrics = PrequentialMetrics(window: window)
        metrics.count = try reader.readInt()
        metrics.sumSquared = try reader.readDouble()
        metrics.sumAbsolute = try reader.readDouble()
        metrics.baselineSumSquared = try reader.readDouble()
        metrics.baselineSumAbsolute = try reader.readDouble()
        let ring = try reader.readArray(of: SIMD2<Float>.self)
        let ringNext = try reader.readInt()
        for _ in 0..<4 { _ = try reader.readDouble() }
        guard ring.count <= storedWindow, ringNext < max(1, storedWindow), storedWindow > 0 else {
            throw reader.malformed("metrics ring of \(ring.count) in a window of \(storedWindow)")
        }
        if storedWindow == window {
            metrics.ring = ring
            metrics.ringNext = ringNext
        }
        return metrics
    }
}

extension DecayClock {
    /// Layout: half-life f64, has-reference u8, reference i64, last time i64, last term f64.
    func archive(into sink: inout some ArchiveSink) throws {
        try sink.append(halfLifeMillis)
        try sink.append(UInt8(referenceMillis == nil ? 0 : 1))
        try sink.append(referenceMillis ?? 0)
        try sink.append(lastTime)
        try sink.append(lastTerm)
    }

    /// Reads the clock back; scores kept under another half-life keep their reference.
    static func restore(halfLifeMillis: Double, from reader: inout ArchiveReader) throws(ArchiveError) -> DecayClock {
        let storedHalfLife = try reader.readDouble()
        var clock = DecayClock(halfLifeMillis: halfLifeMillis)
        let hasReference = try reader.readBool()
        let reference = try reader.read(Int64.self)
        clock.referenceMillis = hasReference ? reference : nil
        let lastTime = try reader.read(Int64.self)
        let lastTerm = try reader.readDouble()
        // The cached term is only valid under the half-life that computed it.
        if storedHalfLife == halfLifeMillis {
            clock.lastTime = lastTime
            clock.lastTerm = lastTerm
        }
        return clock
    }
}
