/// Student against teacher on a sample of users: every item's predicted rating compared.
extension Learner {
    func measureFidelity(
        domain d: Int, users sample: [Int], items: [Int], studentItems: Int8Rows, studentItemBias: [Float],
        studentUsers: [Float], lists: ListTable, implicit: ImplicitRanking?, dimension k: Int, retainedEnergy: Double, bytes: (student: Int, teacher: Int),
        online: UserRecords
    ) -> Fidelity {
        let state = domains[d]
        let range = configuration.domains[d].ratingRange
        var squared = 0.0
        var compared = 0
        var overlap = 0.0
        var studentScores = [Float](repeating: 0, count: studentItems.count)
        var teacherScores = [Double](repeating: 0, count: studentItems.count)
        for user in sample {
            studentUsers.withUnsafeBufferPointer { rows in
                studentScores.withUnsafeMutableBufferPointer { studentItems.scores(rows.baseAddress! + user * k, into: $0) }
            }
            let base = state.mean + userRecords[user, domain: d, UserColumn.bias]
            let userVector = userRecords.vector(user)
            for item in items {
                let teacher = base + state.itemRecords[item, ItemColumn.bias]
                    + Double(VectorMath.dot(userVector, state.itemRecords.vector(item), dimension))
                let student = base + Double(studentItemBias[item]) + Double(studentScores[item])
                teacherScores[item] = teacher
                studentScores[item] = Float(student)
                let error = min(max(student, range.lowerBound), range.upperBound) - min(max(teacher, range.lowerBound), range.upperBound)
                squared += error * error
                compared += 1
            }
            let top = min(10, items.count)
            guard top > 0 else { continue }
            if lists.isRanking {
                // The overlap is of the lists' order: the ranking head's plus the implicit part,
                // teacher and student.
                lists.userRows.withUnsafeBufferPointer { rows in
                    studentScores.withUnsafeMutableBufferPointer { lists.itemRows.scores(rows.baseAddress! + user * k, into: $0) }
                }
                let scorer = listScorer(userRow: user, domain: d, users: online)
                for item in items {
                    teacherScores[item] = scorer.score(itemRow: item)
                    studentScores[item] += lists.itemBias[item]
                }
                implicit?.addScores(user: user, items: items, to: &teacherScores)
            }
            // Ties by row: both sides rank the same way, so equal scores do not count as misses.
            let teacherTop = Set(Self.best(top, of: items) { teacherScores[$0] })
            let studentTop = Self.best(top, of: items) { Double(studentScores[$0]) }
            overlap += Double(studentTop.filter(teacherTop.contains).count) / Double(top)
        }
        return Fidelity(
            scoreRMSE: compared > 0 ? (squared / Double(compared)).squareRoot() : 0,
            top10Overlap: sample.isEmpty ? 1 : overlap / Double(sample.count), sampledUsers: sample.count,
            retainedEnergy: retainedEnergy, studentBytes: bytes.student, teacherBytes: bytes.teacher)
    }

    /// The `count` rows of highest score, ties to the lower row: one pass with a small sorted
    /// buffer (sorting every item per sampled user was a third of a distillation at 100 k items).
    static func best(_ count: Int, of rows: [Int], score: (Int) -> Double) -> [Int] {
        var kept: [(score: Double, row: Int)] = []
        kept.reserveCapacity(count + 1)
        for row in rows {
            let value = score(row)
            if kept.count == count, let last = kept.last, !(value > last.score || (value == last.score && row < last.row)) { continue }
            let position = kept.firstIndex { value > $0.score || (value == $0.score && row < $0.row) } ?? kept.count
            kept.insert((value, row), at: position)
            if kept.count > count { kept.removeLast() }
        }
        return kept.map(\.row)
    }
}
