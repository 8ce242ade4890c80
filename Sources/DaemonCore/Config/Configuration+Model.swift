import KafkaIngest
import RecModel

extension Configuration {
    /// The learner's view of the configuration: domains in file order (topic index = domain index).
    public var learnerConfiguration: LearnerConfiguration {
        var learner = LearnerConfiguration(domains: domains.map {
            DomainSpec(
                name: $0.name, ratingRange: $0.ratingMin...$0.ratingMax, lossWeight: $0.lossWeight, maxItems: $0.maxItems,
                isTarget: $0.target)
        })
        learner.dimension = model.dimension
        learner.seed = model.seed
        learner.optimizer = LearnerConfiguration.Optimizer(rawValue: model.optimizer) ?? .adagrad
        learner.learningRate = model.learningRate
        learner.biasLearningRate = model.biasLearningRate
        learner.regularization = model.regularization
        learner.biasRegularization = model.biasRegularization
        learner.initScale = model.initScale
        learner.maxUsers = model.maxUsers
        learner.idleExpiryMillis = Int64(model.idleExpirySeconds * 1000)
        learner.popularityHalfLifeMillis = model.popularityHalfLifeSeconds * 1000
        learner.seenItemsPerUser = model.seenItemsPerUser
        learner.metricsWindow = model.metricsWindow
        learner.recentTargetRatings = model.refitRatings
        learner.recentSourceRatings = model.refitSourceRatings
        learner.ranking = model.ranking
        return learner
    }

    /// The consumer's settings, given the resolved bootstrap servers.
    public func consumerSettings(bootstrapServers: String) -> ConsumerSettings {
        var settings = ConsumerSettings(
            bootstrapServers: bootstrapServers, groupID: kafka.groupID,
            topics: domains.map {
                TopicSettings(name: $0.topic, domain: $0.name, format: $0.format, ratingRange: $0.ratingMin...$0.ratingMax)
            })
        settings.autoOffsetReset = kafka.autoOffsetReset
        settings.sessionTimeoutMs = kafka.sessionTimeoutMs
        settings.deadLetterTopic = kafka.deadLetterTopic
        settings.maxBufferedRecords = kafka.maxBufferedRecords
        settings.batchSize = kafka.batchSize
        settings.rejectLogsPerSecond = kafka.rejectLogsPerSecond
        settings.extra = kafka.properties
        return settings
    }
}
